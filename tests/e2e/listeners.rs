//! Connection limits on every listener (plain HTTP as well as TLS): slow clients that trickle
//! their headers (slowloris) are cut off after the header timeout, idle kept-alive connections
//! too, and while a thousand of them hang on, a normal request is still answered.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Backend, Install};

fn host_port(url: &str) -> String {
    url.trim_start_matches("http://").trim_start_matches("https://").to_string()
}

/// Reads until the server closes the connection; true if it did within `within`.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_cannot_starve_the_listener() {
    let install = Install::new(Backend::Sqlite).await;
    let cfg = install.data_dir.join("config.toml");
    let text = std::fs::read_to_string(&cfg).unwrap() + "\nheader_timeout_secs = 2\n";
    std::fs::write(&cfg, text).unwrap();
    let server = install.serve();
    let addr = host_port(&server.base);

    // A thousand slowloris connections: a request line and one header, then a header line
    // trickled now and then, never the blank line that ends the head.
    let mut slow = Vec::new();
    for _ in 0..1000 {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: sejf\r\n").await.unwrap();
        slow.push(c);
    }
    let trickle = tokio::spawn(async move {
        let mut open = slow;
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(600)).await;
            for c in &mut open {
                let _ = c.write_all(b"X-Slow: 1\r\n").await;
            }
        }
        open
    });

    // Meanwhile a normal client is answered at once.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let started = Instant::now();
    let res = client.get(format!("{}/healthz", server.base)).send().await.expect("a normal request is answered within a second");
    assert_eq!(res.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1));

    // Every slow client is cut off once the header timeout (2 s here) has passed, trickle or not.
    let mut open = trickle.await.unwrap();
    let mut cut = 0;
    for c in &mut open {
        if closed_within(c, Duration::from_secs(4)).await {
            cut += 1;
        }
    }
    assert_eq!(cut, 1000, "slow clients still connected after the header timeout");

    // A kept-alive connection that goes idle after its answer is closed too.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: sejf\r\n\r\n").await.unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(closed_within(&mut idle, Duration::from_secs(5)).await, "an idle kept-alive connection stays open");

    // The admin listener has the same limits.
    let mut admin = TcpStream::connect(host_port(&server.admin)).await.unwrap();
    admin.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    assert!(closed_within(&mut admin, Duration::from_secs(5)).await, "the admin listener keeps a slow client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_address_is_rate_limited_before_authentication() {
    let install = Install::new(Backend::Sqlite).await;
    let cfg = install.data_dir.join("config.toml");
    let extra = "\ntrusted_proxies = [\"127.0.0.1\"]\nrate_limit_per_second = 0.5\nrate_limit_burst = 5\n";
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap() + extra).unwrap();
    let server = install.serve();
    let client = reqwest::Client::new();
    let from = |addr: &'static str| {
        let c = client.clone();
        let url = format!("{}/api/v1/me", server.base);
        async move { c.get(url).header("x-forwarded-for", addr).send().await.unwrap() }
    };
    // Five anonymous requests from one address reach authentication (401); the sixth is refused
    // before it, with a Retry-After.
    for _ in 0..5 {
        assert_eq!(from("203.0.113.9").await.status(), 401);
    }
    let refused = from("203.0.113.9").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    // Another address has its own allowance; an IPv6 /64 shares one.
    assert_eq!(from("203.0.113.10").await.status(), 401);
    for _ in 0..5 {
        assert_eq!(from("2001:db8:5:6::1").await.status(), 401);
    }
    assert_eq!(from("2001:db8:5:6::beef").await.status(), 429, "the same /64");
    assert_eq!(from("2001:db8:5:7::1").await.status(), 401, "another /64");
    // Health checks and loopback clients are never limited.
    assert_eq!(client.get(format!("{}/healthz", server.base)).header("x-forwarded-for", "203.0.113.9").send().await.unwrap().status(), 200);
    for _ in 0..20 {
        assert_eq!(client.get(format!("{}/api/v1/me", server.base)).send().await.unwrap().status(), 401);
    }
}
