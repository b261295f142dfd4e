// The roadmap's Rust/Tokio line: hyper 0.14 on tokio's current-thread runtime, one thread, the
// lab's routes with the stages' bytes (servers/core/app.py).
//   qpslab-rust-hyper --port N        (prints "listening on http://127.0.0.1:N")
use std::convert::Infallible;
use std::io::Write;
use std::time::Duration;

use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, SERVER};
use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Request, Response, Server, StatusCode};

const TEXT: &str = "text/plain; charset=utf-8";
const MAX_DELAY_MS: u64 = 1000; // servers/core/limits.py's

fn send(status: u16, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    let length = body.len();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).expect("a valid status");
    let headers = response.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static("rust-hyper"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}

async fn handle(request: Request<Body>) -> Result<Response<Body>, Infallible> {
    let path = request.uri().path();
    Ok(match path {
        "/plaintext" => send(200, TEXT, b"Hello, World!".to_vec()),
        // Serialized per request, as TechEmpower's json test requires (and as the stages do).
        "/json" => send(200, "application/json",
                        serde_json::to_vec(&serde_json::json!({"message": "Hello, World!"})).expect("json")),
        "/health" => send(200, TEXT, b"ok\n".to_vec()),
        _ => match path.strip_prefix("/delay/") {
            Some(arg) if !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_digit()) => {
                match arg.parse::<u64>() {
                    Ok(ms) if arg.len() <= 9 && ms <= MAX_DELAY_MS => {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                        send(200, TEXT, b"Hello, World!".to_vec())
                    }
                    _ => send(400, TEXT, format!("/delay/{{ms}} waits at most {}\n", MAX_DELAY_MS).into_bytes()),
                }
            }
            _ => send(404, TEXT, b"not found\n".to_vec()),
        },
    })
}

fn port() -> u16 {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--port") {
        None => 8080,
        Some(at) => args.get(at + 1).and_then(|p| p.parse().ok()).unwrap_or_else(|| {
            eprintln!("--port must be 0..65535");
            std::process::exit(2)
        }),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(async {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port())).unwrap_or_else(|error| {
            eprintln!("cannot listen: {}", error);
            std::process::exit(2)
        });
        listener.set_nonblocking(true).expect("a non-blocking listener");
        println!("listening on http://{}", listener.local_addr().expect("an address"));
        std::io::stdout().flush().expect("stdout");
        // Keep-alive on, as the stages'; no Nagle delay (asyncio and Node turn it off, Go too);
        // the answers to one read of pipelined requests flushed together (hyper's TechEmpower
        // entry's setting: without it each waits for its own flush, 18k req/s at depth 16 here).
        // SIGTERM ends the process (the lab's stop).
        let service = make_service_fn(|_| async { Ok::<_, Infallible>(service_fn(handle)) });
        let server = Server::from_tcp(listener)
            .expect("a hyper server")
            .tcp_nodelay(true)
            .http1_keepalive(true)
            .http1_pipeline_flush(true)
            .serve(service);
        if let Err(error) = server.await {
            eprintln!("serve: {}", error);
            std::process::exit(1);
        }
    });
}
