//! Prometheus metrics of the HTTP edge (text exposition format 0.0.4), served on the admin
//! listener at `/metrics`: requests by route, method and status with a latency histogram,
//! sign-in failures, and the server's readiness as gauges. Labels are route templates
//! (`/api/v1/people/{id}`), never paths, so no id or personal value reaches a label.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

/// Histogram bucket bounds in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    /// Cumulative counts per bound of [`BUCKETS`].
    buckets: [u64; 12],
}

#[derive(Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), Series>,
    signin_failures: u64,
}

fn registry() -> &'static Mutex<Registry> {
    static R: OnceLock<Mutex<Registry>> = OnceLock::new();
    R.get_or_init(Mutex::default)
}

/// Counts one answered request.
pub fn observe(route: &str, method: &str, status: u16, seconds: f64) {
    let Ok(mut r) = registry().lock() else { return };
    if route == "/api/v1/auth/login" && matches!(status, 401 | 429) {
        r.signin_failures += 1;
    }
    let s = r.requests.entry((route.to_string(), method.to_string(), status)).or_default();
    s.count += 1;
    s.sum += seconds;
    for (i, bound) in BUCKETS.iter().enumerate() {
        if seconds <= *bound {
            s.buckets[i] += 1;
        }
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A metric the server reports besides the requests: `(name, help, kind, value)`, kind
/// `gauge` or `counter`.
pub type Extra<'a> = (&'a str, &'a str, &'a str, f64);

/// The exposition text: the request metrics plus `extra` ones.
pub fn render(extra: &[Extra<'_>]) -> String {
    let (requests, signin_failures) = match registry().lock() {
        Ok(r) => (r.requests.clone(), r.signin_failures),
        Err(_) => (BTreeMap::new(), 0),
    };
    let mut out = String::new();
    out.push_str("# HELP sejf_http_requests_total HTTP requests answered, by route template, method and status.\n");
    out.push_str("# TYPE sejf_http_requests_total counter\n");
    for ((route, method, status), s) in &requests {
        let _ = writeln!(out, "sejf_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {}", label(route), s.count);
    }
    out.push_str("# HELP sejf_http_request_duration_seconds Time to answer, by route template and method.\n");
    out.push_str("# TYPE sejf_http_request_duration_seconds histogram\n");
    let mut by_route: BTreeMap<(String, String), Series> = BTreeMap::new();
    for ((route, method, _), s) in &requests {
        let t = by_route.entry((route.clone(), method.clone())).or_default();
        t.count += s.count;
        t.sum += s.sum;
        for i in 0..BUCKETS.len() {
            t.buckets[i] += s.buckets[i];
        }
    }
    for ((route, method), s) in &by_route {
        let l = format!("route=\"{}\",method=\"{method}\"", label(route));
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "sejf_http_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {}", s.buckets[i]);
        }
        let _ = writeln!(out, "sejf_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}", s.count);
        let _ = writeln!(out, "sejf_http_request_duration_seconds_sum{{{l}}} {}", s.sum);
        let _ = writeln!(out, "sejf_http_request_duration_seconds_count{{{l}}} {}", s.count);
    }
    out.push_str("# HELP sejf_signin_failures_total Sign-ins refused (401) or throttled (429).\n");
    out.push_str("# TYPE sejf_signin_failures_total counter\n");
    let _ = writeln!(out, "sejf_signin_failures_total {signin_failures}");
    for (name, help, kind, value) in extra {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_become_counters_and_cumulative_buckets() {
        observe("/api/v1/test/{id}", "GET", 200, 0.003);
        observe("/api/v1/test/{id}", "GET", 404, 0.2);
        let text = render(&[("sejf_up", "Up.", "gauge", 1.0)]);
        assert!(text.contains("sejf_http_requests_total{route=\"/api/v1/test/{id}\",method=\"GET\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("sejf_http_request_duration_seconds_bucket{route=\"/api/v1/test/{id}\",method=\"GET\",le=\"0.005\"} 1"));
        assert!(text.contains("sejf_http_request_duration_seconds_bucket{route=\"/api/v1/test/{id}\",method=\"GET\",le=\"0.25\"} 2"));
        assert!(text.contains("sejf_http_request_duration_seconds_count{route=\"/api/v1/test/{id}\",method=\"GET\"} 2"));
        assert!(text.contains("# TYPE sejf_up gauge\nsejf_up 1"));
    }
}
