//! A per-address request rate limit before authentication (ADR 0024): a token bucket per client
//! address (an IPv6 address counts by its /64, as one host usually holds a whole /64), checked
//! before anything else runs, answered with 429 and `Retry-After`. Loopback clients are exempt
//! (health checks, local tools; a local reverse proxy must be listed in `trusted_proxies`, so its
//! clients are counted by their own addresses).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Requests per second per address, and the burst above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// 0 switches the limit off.
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self { per_second: 50.0, burst: 200.0 }
    }
}

/// Addresses remembered at most; beyond it, buckets that have refilled are forgotten.
const MAX_TRACKED: usize = 100_000;

/// The buckets of one listener.
#[derive(Clone)]
pub struct Limiter {
    limit: RateLimit,
    buckets: Arc<Mutex<HashMap<IpAddr, (f64, Instant)>>>,
}

/// The address a bucket counts: an IPv6 address by its /64 (IPv4-mapped ones as IPv4).
pub fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        Self { limit, buckets: Arc::default() }
    }

    /// Takes one request from `ip`'s bucket: None when allowed, or the seconds to wait.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        if self.limit.per_second <= 0.0 || ip.is_loopback() || bucket_key(ip).is_loopback() {
            return None;
        }
        let Ok(mut buckets) = self.buckets.lock() else { return None };
        if buckets.len() >= MAX_TRACKED {
            let (rate, burst) = (self.limit.per_second, self.limit.burst);
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets.entry(bucket_key(ip)).or_insert((self.limit.burst, now));
        let refilled = (*tokens + now.duration_since(*at).as_secs_f64() * self.limit.per_second).min(self.limit.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            None
        } else {
            *tokens = refilled;
            Some(((1.0 - refilled) / self.limit.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn a_burst_then_the_rate_per_address_and_v6_by_its_64() {
        let l = Limiter::new(RateLimit { per_second: 2.0, burst: 3.0 });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check(ip("203.0.113.5"), t0), None);
        }
        assert_eq!(l.check(ip("203.0.113.5"), t0), Some(1));
        assert_eq!(l.check(ip("203.0.113.6"), t0), None, "another address has its own bucket");
        assert_eq!(l.check(ip("203.0.113.5"), t0 + std::time::Duration::from_millis(600)), None, "refilled at 2/s");
        for _ in 0..3 {
            assert_eq!(l.check(ip("2001:db8:1:2::1"), t0), None);
        }
        assert!(l.check(ip("2001:db8:1:2::ffff"), t0).is_some(), "the same /64");
        assert_eq!(l.check(ip("2001:db8:1:3::1"), t0), None, "another /64");
        assert_eq!(bucket_key(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
        for _ in 0..10 {
            assert_eq!(l.check(ip("127.0.0.1"), t0), None, "loopback is exempt");
            assert_eq!(l.check(ip("::1"), t0), None);
        }
        assert_eq!(Limiter::new(RateLimit { per_second: 0.0, burst: 0.0 }).check(ip("203.0.113.5"), t0), None, "0: off");
    }
}
