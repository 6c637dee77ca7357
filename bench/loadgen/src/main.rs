//! A closed-loop HTTP/1.1 load generator for AWS query-protocol and JSON 1.1 requests signed
//! with SigV4.
//!
//! Each connection sends one request, waits for the response, and repeats, for a fixed time.
//! The request is signed once per run (the server still verifies every request in full; the
//! signature stays valid inside AWS's 15-minute window), unless the body holds `{n}`: then each
//! request gets the next number there (e.g. a fresh user name for CreateUser) and is signed on
//! its own. Prints requests/s and latency percentiles as one JSON line.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser)]
struct Args {
    /// host:port of the server.
    #[arg(long)]
    target: String,
    /// Form body of the request, e.g. `Action=GetUser&Version=2010-05-08&UserName=u1`. A `{n}`
    /// in it is replaced by a number unique to each request.
    #[arg(long)]
    body: String,
    #[arg(long, default_value = "AKIAMOATTESTROOT0001")]
    access_key_id: String,
    #[arg(long, default_value = "moat/test/root/secret/key/0000000000000A")]
    secret_access_key: String,
    /// The session token of temporary credentials.
    #[arg(long)]
    session_token: Option<String>,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "iam")]
    service: String,
    /// `X-Amz-Target` of a JSON 1.1 request (`TrentService.Encrypt`); the body is then JSON.
    #[arg(long)]
    amz_target: Option<String>,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds to run, after a one-second warm-up.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Label printed with the result.
    #[arg(long, default_value = "")]
    label: String,
}

/// The request bytes: signed once, or per request when the body varies.
enum Requests {
    Fixed(Vec<u8>),
    Numbered {
        args: std::sync::Arc<Args>,
        next: std::sync::atomic::AtomicU64,
    },
}

impl Requests {
    fn next(&self) -> anyhow::Result<std::borrow::Cow<'_, [u8]>> {
        match self {
            Requests::Fixed(raw) => Ok(std::borrow::Cow::Borrowed(raw)),
            Requests::Numbered { args, next } => {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let body = args.body.replace("{n}", &n.to_string());
                build_request(args, &body).map(std::borrow::Cow::Owned)
            }
        }
    }
}

fn build_request(args: &Args, body: &str) -> anyhow::Result<Vec<u8>> {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, args.target.parse()?);
    match &args.amz_target {
        Some(target) => {
            headers.insert(
                http::header::CONTENT_TYPE,
                "application/x-amz-json-1.1".parse()?,
            );
            headers.insert("x-amz-target", target.parse()?);
        }
        None => {
            headers.insert(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8".parse()?,
            );
        }
    }
    let params = moat_sigv4::SigningParams {
        access_key_id: &args.access_key_id,
        secret_access_key: &args.secret_access_key,
        session_token: args.session_token.as_deref(),
        region: &args.region,
        service: &args.service,
        time: time::OffsetDateTime::now_utc(),
        payload: moat_sigv4::PayloadSigning::Hash,
    };
    moat_sigv4::sign_request("POST", "/", "", &mut headers, body.as_bytes(), &params)
        .map_err(|e| anyhow::anyhow!("signing failed: {e}"))?;
    let mut raw = Vec::new();
    raw.extend_from_slice(b"POST / HTTP/1.1\r\n");
    for (k, v) in &headers {
        raw.extend_from_slice(k.as_str().as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(v.as_bytes());
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    raw.extend_from_slice(body.as_bytes());
    Ok(raw)
}

/// Reads one HTTP/1.1 response (Content-Length framed); returns its status and whether the
/// server will close the connection.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<(u16, bool)> {
    buf.clear();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = std::str::from_utf8(buf.get(..end).unwrap_or_default())?;
            let status: u16 = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .context("bad status line")?;
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())
                        .flatten()
                })
                .context("response without content-length")?;
            let close = head.lines().any(|l| {
                l.split_once(':').is_some_and(|(k, v)| {
                    k.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close")
                })
            });
            let total = end + 4 + len;
            while buf.len() < total {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    bail!("connection closed mid-body");
                }
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
            return Ok((status, close));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed");
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn worker(
    target: String,
    requests: std::sync::Arc<Requests>,
    warmup_until: Instant,
    until: Instant,
) -> anyhow::Result<(Vec<u32>, u64)> {
    let connect = || async {
        let stream = TcpStream::connect(&target).await?;
        stream.set_nodelay(true)?;
        Ok::<_, std::io::Error>(stream)
    };
    let mut stream = connect().await?;
    let mut buf = Vec::with_capacity(16384);
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut errors = 0u64;
    loop {
        let start = Instant::now();
        if start >= until {
            break;
        }
        // Servers without keep-alive (moto's werkzeug says `Connection: close`) cost a new
        // connection per request; that cost is part of what they serve.
        let request = requests.next()?;
        let exchange = async {
            stream.write_all(&request).await?;
            read_response(&mut stream, &mut buf).await
        };
        let outcome = tokio::time::timeout(Duration::from_secs(10), exchange).await;
        let (status, close) = match outcome {
            Ok(Ok(r)) => r,
            _ => (0, true),
        };
        if start >= warmup_until {
            if status != 200 {
                errors += 1;
            }
            latencies.push(u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX));
        }
        if close {
            stream = connect().await?;
        }
    }
    Ok((latencies, errors))
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let args = std::sync::Arc::new(Args::parse());
    let requests = std::sync::Arc::new(if args.body.contains("{n}") {
        Requests::Numbered {
            args: args.clone(),
            next: std::sync::atomic::AtomicU64::new(0),
        }
    } else {
        Requests::Fixed(build_request(&args, &args.body)?)
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let warmup_until = Instant::now() + Duration::from_secs(1);
        let until = warmup_until + Duration::from_secs(args.seconds);
        let mut tasks = Vec::new();
        for _ in 0..args.connections {
            tasks.push(tokio::spawn(worker(
                args.target.clone(),
                requests.clone(),
                warmup_until,
                until,
            )));
        }
        let mut all = Vec::new();
        let mut errors = 0;
        for t in tasks {
            let (l, e) = t.await??;
            all.extend(l);
            errors += e;
        }
        all.sort_unstable();
        let rps = all.len() as f64 / args.seconds as f64;
        println!(
            "{{\"label\":\"{}\",\"requests\":{},\"errors\":{},\"rps\":{:.0},\"p50_us\":{},\"p99_us\":{},\"max_us\":{}}}",
            args.label,
            all.len(),
            errors,
            rps,
            percentile(&all, 0.50),
            percentile(&all, 0.99),
            all.last().copied().unwrap_or(0)
        );
        Ok(())
    })
}
