//! Findings with stable codes and severities.
