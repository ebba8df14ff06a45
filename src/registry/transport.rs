//! How envaudit talks HTTP to registries: scheme, timeouts, retries.

use std::hash::{BuildHasher as _, Hasher as _};
use std::net::IpAddr;
use std::time::Duration;

/// Timeouts, retries and which registries may be reached over plain HTTP.
#[derive(Clone, Debug)]
pub struct TransportPolicy {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response (headers or body) before giving up on
    /// the attempt.
    pub read_timeout: Duration,
    /// Attempts per request, the first included (1 = no retry). Retried: HTTP 429, 500,
    /// 502, 503, 504, connection failures and timeouts, before any body byte was used.
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further one, with jitter (a random
    /// point in the upper half of the delay).
    pub base_delay: Duration,
    /// Longest delay between attempts, and longest `Retry-After` honoured (a longer one
    /// ends the request with an error).
    pub max_delay: Duration,
    /// Registries (`host` or `host:port`) reached over plain HTTP besides loopback ones.
    pub insecure_registries: Vec<String>,
}

impl Default for TransportPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            insecure_registries: Vec::new(),
        }
    }
}

impl TransportPolicy {
    /// `http` for loopback registries (`localhost`, `127.0.0.0/8`, `[::1]`) and those in
    /// `insecure_registries`; `https` for every other one.
    pub fn scheme_for(&self, registry: &str) -> &'static str {
        if is_loopback(registry)
            || self.insecure_registries.iter().any(|r| {
                r.eq_ignore_ascii_case(registry) || r.eq_ignore_ascii_case(host_of(registry))
            })
        {
            "http"
        } else {
            "https"
        }
    }

    /// The delay before attempt `attempt + 1` (after `attempt` failed ones), without a
    /// `Retry-After`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        // Jitter: a random point in [capped/2, capped].
        let half = capped / 2;
        // `half <= capped`, and a delay beyond `u64::MAX` nanoseconds (584 years) is capped there.
        let span = u64::try_from(capped.saturating_sub(half).as_nanos()).unwrap_or(u64::MAX);
        let r = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        half + Duration::from_nanos(if span == 0 { 0 } else { r % (span + 1) })
    }
}

/// The host of `host:port` or `[v6]:port`.
fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match registry.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => registry,
    }
}

/// Whether a registry host is on this machine.
pub fn is_loopback(registry: &str) -> bool {
    let host = host_of(registry);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether an HTTP status is worth another attempt.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` as a delay: delta-seconds, or an HTTP date relative to now.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = parse_http_date(v)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(when.saturating_sub(now)))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as seconds since the Unix epoch.
fn parse_http_date(s: &str) -> Option<u64> {
    // RFC 9110's IMF-fixdate is RFC 2822's format in GMT; jiff bounds the year, so a hostile
    // date cannot overflow.
    let when = jiff::fmt::rfc2822::parse(s.trim()).ok()?;
    u64::try_from(when.timestamp().as_second()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_and_named_registries_use_plain_http() {
        let p = TransportPolicy {
            insecure_registries: vec!["registry.lan:5000".into(), "other.lan".into()],
            ..TransportPolicy::default()
        };
        assert_eq!(p.scheme_for("127.0.0.1:5000"), "http");
        assert_eq!(p.scheme_for("localhost"), "http");
        assert_eq!(p.scheme_for("[::1]:5000"), "http");
        assert_eq!(p.scheme_for("registry.lan:5000"), "http");
        assert_eq!(p.scheme_for("other.lan:443"), "http");
        assert_eq!(p.scheme_for("registry.lan"), "https");
        assert_eq!(p.scheme_for("myacr.azurecr.io"), "https");
        assert_eq!(p.scheme_for("127.example.com"), "https");
    }

    #[test]
    fn backoff_doubles_within_the_cap_with_jitter() {
        let p = TransportPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..TransportPolicy::default()
        };
        for _ in 0..20 {
            let d1 = p.backoff(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d2 = p.backoff(2);
            assert!(d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200));
            let d9 = p.backoff(9);
            assert!(d9 >= Duration::from_millis(175) && d9 <= Duration::from_millis(350));
        }
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:10 GMT"), Some(10));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn hostile_retry_after_dates_are_refused_not_overflowed() {
        for bad in [
            "Sun, 06 Nov 99999999999999999 08:49:37 GMT",
            "Sun, 06 Nov -9223372036854775808 08:49:37 GMT",
            "Sun, 99 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 99:99:99 GMT",
            "Sun, 06 Nov 1994 18446744073709551615:00:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
    }
}
