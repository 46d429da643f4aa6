//! Hydro Deploy's program side, by hand: read the InitConfig line, bind
//! "input", answer `ready:`, read `start:`, connect "output", answer
//! `ack start`, then forward length-delimited frames until `stop`.
use serde_json::{json, Value};
use std::io::{self, BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Mutex};
use std::thread;

trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

enum Listener {
    Unix(UnixListener),
    Tcp(TcpListener),
}

impl Listener {
    fn accept(&self) -> io::Result<Box<dyn Conn>> {
        Ok(match self {
            Listener::Unix(l) => Box::new(l.accept()?.0),
            Listener::Tcp(l) => Box::new(l.accept()?.0),
        })
    }
}

fn read_line(stdin: &mut impl BufRead) -> String {
    let mut line = String::new();
    if stdin.read_line(&mut line).unwrap_or(0) == 0 {
        std::process::exit(0);
    }
    line.trim_end().to_string()
}

/// Bind as the config asks: "UnixSocket", {"TcpPort": host} or
/// {"TcpPort": [host, port]}; the listener and the address to report.
fn bind(config: &Value) -> (Listener, Value) {
    if config == "UnixSocket" {
        let dir = std::env::temp_dir().join(format!("relay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let path = dir.join("socket");
        let _ = std::fs::remove_file(&path);
        let l = UnixListener::bind(&path).expect("bind a Unix socket");
        return (Listener::Unix(l), json!({ "UnixSocket": path }));
    }
    let host = match &config["TcpPort"] {
        Value::String(h) => h.clone(),
        Value::Array(a) => a[0].as_str().unwrap_or("127.0.0.1").to_string(),
        other => panic!("cannot bind {}", other),
    };
    let l = TcpListener::bind((host.as_str(), 0)).expect("bind TCP");
    let addr = l.local_addr().unwrap().to_string();
    (Listener::Tcp(l), json!({ "TcpPort": addr }))
}

fn connect(target: &Value) -> Option<Box<dyn Conn>> {
    if let Some(path) = target["UnixSocket"].as_str() {
        return Some(Box::new(UnixStream::connect(path).expect("connect")));
    }
    if let Some(addr) = target["TcpPort"].as_str() {
        return Some(Box::new(TcpStream::connect(addr).expect("connect")));
    }
    None
}

fn forward(mut from: Box<dyn Conn>, to: Arc<Mutex<Option<Box<dyn Conn>>>>) {
    let mut len = [0u8; 4];
    while from.read_exact(&mut len).is_ok() {
        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
        if from.read_exact(&mut frame).is_err() {
            break;
        }
        if let Some(out) = to.lock().unwrap().as_mut() {
            let _ = out.write_all(&len).and_then(|_| out.write_all(&frame));
        }
    }
}

fn main() {
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    let init: Value = serde_json::from_str(&read_line(&mut stdin)).expect("InitConfig");
    let (listener, bound) = bind(&init[0]["input"]);
    println!("ready: {}", json!({ "input": bound }));

    let start = read_line(&mut stdin);
    let targets: Value =
        serde_json::from_str(start.strip_prefix("start: ").expect("start:")).expect("start: JSON");
    let out = Arc::new(Mutex::new(connect(&targets["output"])));
    println!("ack start");
    io::stdout().flush().unwrap();

    thread::spawn(move || loop {
        match listener.accept() {
            Ok(conn) => {
                let out = out.clone();
                thread::spawn(move || forward(conn, out));
            }
            Err(_) => break,
        }
    });
    while read_line(&mut stdin) != "stop" {}
    eprintln!("relay: stopped");
}
