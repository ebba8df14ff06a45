//! Analysis over snapshots: the dependency graph, diffs, drift, lint findings and the
//! compliance report. Pure: it takes values and returns values.

pub mod compliance;
pub mod diff;
pub mod drift;
pub mod graph;
pub mod lint;
pub mod log;
pub mod why;
