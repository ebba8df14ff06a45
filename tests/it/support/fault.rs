//! A small in-process HTTP/1.1 server on 127.0.0.1 for faults a real registry will not
//! produce on demand: errors then success, throttling, token challenges, truncated or wrong
//! blobs, stalls, latency. One thread per connection, keep-alive; a request body is read when
//! it has a `Content-Length` (no chunked bodies), and a HEAD is answered without its body.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as the handler sees it.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub headers: HashMap<String, String>,
    /// `GET`, `HEAD`, `PUT`, `POST`…
    pub method: String,
    /// The body, as long as `Content-Length` said.
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// What to answer.
pub enum Reply {
    /// A full response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Headers promising `body.len()` bytes, then only the first `send` bytes, then close.
    Truncated { body: Vec<u8>, send: usize },
    /// Accept the request and answer nothing for this long, then close.
    Stall(Duration),
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>, headers: &[(&str, &str)]) -> Self {
        Reply::Full {
            status: 200,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.into(),
        }
    }

    pub fn status(status: u16, headers: &[(&str, &str)]) -> Self {
        Reply::Full {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: br#"{"errors":[{"code":"UNKNOWN","message":"test"}]}"#.to_vec(),
        }
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

pub struct FaultServer {
    pub addr: String,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl FaultServer {
    /// Serve `handler` on a free port, waiting `latency` before each answer.
    pub fn start(
        latency: Duration,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let log = log.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let handler = handler.clone();
                    let log = log.clone();
                    std::thread::spawn(move || serve(conn, &*handler, &log, latency));
                }
            });
        }
        Self { addr, log, stop }
    }

    /// Requests seen so far.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees `stop`.
        let _ = TcpStream::connect(&self.addr);
    }
}

fn serve(conn: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>, latency: Duration) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = conn.set_nodelay(true);
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let method = line.split_whitespace().next().unwrap_or("GET").to_owned();
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
            return;
        }
        let head_only = method == "HEAD";
        let req = Request {
            path,
            headers,
            method,
            body,
        };
        log.lock().unwrap().push(req.clone());
        if !latency.is_zero() {
            std::thread::sleep(latency);
        }
        match handler(&req) {
            Reply::Full {
                status,
                headers,
                body,
            } => {
                let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
                for (k, v) in headers {
                    write!(head, "{k}: {v}\r\n").unwrap();
                }
                head.push_str("\r\n");
                // One write: a separate small body write would wait for a delayed ACK.
                let mut response = head.into_bytes();
                if !head_only {
                    response.extend_from_slice(&body);
                }
                if writer.write_all(&response).is_err() {
                    return;
                }
            }
            Reply::Truncated { body, send } => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                let _ = writer.write_all(head.as_bytes());
                let _ = writer.write_all(&body[..send.min(body.len())]);
                let _ = writer.flush();
                let _ = writer.shutdown(std::net::Shutdown::Both);
                return;
            }
            Reply::Stall(d) => {
                std::thread::sleep(d);
                return;
            }
        }
    }
}
