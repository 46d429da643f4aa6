//! The program side of hydro's port protocol, for programs hydro compiles
//! from `.hf` files (docs/protocol.md in hydro's sources).
//!
//! A generated `main` parses its params with [`Program::new`] and
//! [`Program::param`], then calls [`Program::run`], which
//!
//! 1. reads the InitConfig line on the control channel (the descriptor in
//!    `HYDRO_CONTROL_FD`, else stdin, as Hydro Deploy speaks it), binds every
//!    input and answers `ready: {...}`;
//! 2. reads `start: {...}`, connects every output and answers `ack start`;
//! 3. builds the flow, giving it each input port as a `Stream` of batches
//!    of messages (for `source_stream(..) -> flatten()`) and each output
//!    port as an [`Output`] whose `send` the flow calls for each message
//!    (`for_each(|m| port.send(m))`);
//! 4. runs it until `stop`, the end of the channel or SIGTERM, writing what
//!    the outputs hold whenever the flow has run all it can and at each tick
//!    of its own making (when hydroflow's `dest_sink` would flush), then
//!    lets the outputs send what they hold and exits 0.
//!
//! Frames are a 4-byte big-endian length and a bincode 1.x payload, at most
//! 8 MiB, as Hydro Deploy frames them.  hydro's own semantics: an input
//! accepts any number of connections and yields the union of their messages
//! (fan-in); an output of plain `T` sends every message to every receiver
//! (broadcast); an input of `(T, SocketAddr)` yields each message with its
//! sender's reply address, the address under the sender's tag in this
//! program's `(T, SocketAddr)` outputs, and such an output sends each message
//! to the receiver with that address (an unknown address is dropped and
//! counted).  A message that does not decode is counted and reported on
//! stderr with the port's name; it never panics the program.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::future::Future;
use std::io::{BufRead, BufReader, IoSlice, Write};
use std::marker::PhantomData;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::io::{AsRawFd, FromRawFd, RawFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::Stream;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, Interest, ReadBuf};
use tokio::sync::{watch, Notify};

mod allocator;
mod codec;

pub use hydroflow;

/// Every compiled program allocates through the system's allocator with a
/// cache of small blocks for the flow's thread in front (allocator.rs).
#[global_allocator]
static ALLOCATOR: allocator::Alloc = allocator::Alloc;

/// The largest frame, as tokio-util's `LengthDelimitedCodec` defaults.
pub const FRAME_MAX: usize = 8 * 1024 * 1024;

fn die(service: &str, msg: &str) -> ! {
    eprintln!("{}: error: {}", service, msg);
    std::process::exit(2)
}

/// The program's name and arguments: the params, read before anything starts.
pub struct Program {
    service: String,
    values: HashMap<String, String>,
}

impl Program {
    /// Read the arguments: `--NAME=VALUE` or `--NAME VALUE` for each param
    /// in `params`.  The service is `HYDRO_SERVICE`, else `program`.  An
    /// unknown argument is an error naming the params there are.
    pub fn new(program: &str, params: &[&str]) -> Program {
        let service = std::env::var("HYDRO_SERVICE").unwrap_or_else(|_| program.to_string());
        let mut values = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let Some(rest) = arg.strip_prefix("--") else {
                die(&service, &format!("unexpected argument '{}'; params are given as --NAME=VALUE", arg));
            };
            let (name, value) = match rest.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => match args.next() {
                    Some(v) => (rest.to_string(), v),
                    None => die(&service, &format!("param '{}' has no value; give --{}=VALUE", rest, rest)),
                },
            };
            if !params.contains(&name.as_str()) {
                let known = if params.is_empty() {
                    "the program has none".to_string()
                } else {
                    format!("the program's are: {}", params.join(", "))
                };
                die(&service, &format!("unknown param '{}' ({})", name, known));
            }
            values.insert(name, value);
        }
        Program { service, values }
    }

    /// The service's name, as messages name it.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The value given for a param, parsed as its type (`ty` is the type as
    /// written, for the message), or None when it was not given; a value
    /// that does not parse ends the program with an error naming the
    /// service, the param and the value.
    pub fn param<T: FromStr>(&self, name: &str, ty: &str) -> Option<T>
    where
        T::Err: std::fmt::Display,
    {
        let v = self.values.get(name)?;
        match v.parse::<T>() {
            Ok(t) => Some(t),
            Err(e) => die(
                &self.service,
                &format!("param '{}': cannot read '{}' as `{}`: {}", name, v, ty, e),
            ),
        }
    }

    /// Speak the handshake, build the flow with `build` and run it until
    /// stopped; never returns.  `inputs` and `outputs` are the module's ports,
    /// each with whether its type is `(T, SocketAddr)`.
    pub fn run<F>(self, inputs: &[(&str, bool)], outputs: &[(&str, bool)], build: F) -> !
    where
        F: for<'a> FnOnce(&'a mut Ports) -> hydroflow::scheduled::graph::Hydroflow<'static>,
    {
        // One thread, as hydroflow's own #[hydroflow::main]: the flow, the
        // readers and the writers take turns, with no wake-up crossing
        // threads for each batch, and an output's buffer is the flow's and
        // its writer's without a lock.
        allocator::cache_this_thread();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| die(&self.service, &format!("cannot start tokio: {}", e)));
        let service = self.service.clone();
        let code = rt.block_on(async move {
            let mut ports = handshake(&service, inputs, outputs).await;
            let mut flow = build(&mut ports);
            let outs = std::mem::take(&mut ports.outs);
            let mut stop = ports.stop.take().unwrap();
            let local = tokio::task::LocalSet::new();
            for w in ports.writers.drain(..) {
                local.spawn_local(w);
            }
            local
                .run_until(async {
                    tokio::select! {
                        _ = drive(&mut flow, &outs) => {},
                        _ = stop.changed() => {},
                    }
                })
                .await;
            // Dropping the flow drops its outputs, whose writers then send
            // what they hold (a dest_sink of the program's own may still
            // hold items in its channel, for its task): a bounded wait for
            // those tasks to end.
            drop(flow);
            drop(outs);
            let _ = tokio::time::timeout(Duration::from_secs(5), local).await;
            ports.finish();
            0
        });
        std::process::exit(code)
    }
}

/// Run the flow, as hydroflow's `run_async` does, but giving the thread to
/// the other tasks (the listeners, the writers) only when a tick of the
/// flow's own making begins (`defer_tick`, `next_tick` loops) or when the
/// flow has no work left, rather than between every two strata: each such
/// turn is a poll of the sockets (a system call), and a message that
/// crosses the flow in one tick needs none.  At those two points the
/// outputs write what they hold, as `dest_sink`'s task flushes its Sink
/// once the flow lets it run.
async fn drive(flow: &mut hydroflow::scheduled::graph::Hydroflow<'_>, outs: &[Rc<OutConn>]) {
    loop {
        let mut tick = flow.current_tick();
        while flow.next_stratum(false) {
            if flow.current_tick() != tick {
                outs.iter().for_each(|c| c.flush());
                tokio::task::yield_now().await;
                tick = flow.current_tick();
            }
            flow.run_stratum();
        }
        outs.iter().for_each(|c| c.flush());
        if flow.recv_events_async().await.is_none() {
            return;
        }
    }
}

/// The control channel: lines of text, on `HYDRO_CONTROL_FD` or stdin/stdout.
struct Control {
    reader: BufReader<File>,
    writer: Box<dyn Write + Send>,
}

impl Control {
    fn open(service: &str) -> Control {
        match std::env::var("HYDRO_CONTROL_FD") {
            Ok(fd) => {
                let fd: i32 = fd.parse().unwrap_or_else(|_| {
                    die(service, &format!("HYDRO_CONTROL_FD is '{}', not a descriptor", fd))
                });
                // SAFETY: hydro hands the program this descriptor to own.
                let file = unsafe { File::from_raw_fd(fd) };
                let reader = file
                    .try_clone()
                    .unwrap_or_else(|e| die(service, &format!("control channel: {}", e)));
                Control { reader: BufReader::new(reader), writer: Box::new(file) }
            }
            Err(_) => {
                // SAFETY: descriptor 0 is stdin, which nothing else reads.
                let stdin = unsafe { File::from_raw_fd(0) };
                Control { reader: BufReader::new(stdin), writer: Box::new(std::io::stdout()) }
            }
        }
    }

    fn read_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim().to_string()),
        }
    }

    fn write_line(&mut self, service: &str, line: &str) {
        let r = self.writer.write_all(format!("{}\n", line).as_bytes());
        if r.and_then(|_| self.writer.flush()).is_err() {
            die(service, "the control channel closed during the handshake");
        }
    }
}

enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

type Conn = Pin<Box<dyn AsyncRead + Send>>;

impl Listener {
    async fn accept(&self) -> std::io::Result<(Conn, Option<SocketAddr>)> {
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Ok((Box::pin(s), Some(peer)))
            }
            Listener::Unix(l) => {
                let (s, _) = l.accept().await?;
                Ok((Box::pin(s), None))
            }
        }
    }
}

/// One input port after binding: its listeners, each with its tag.
struct BoundInput {
    listeners: Vec<(Listener, Option<u32>)>,
    expect: Option<usize>,
}

/// Where an output sends: (Demux key, address).
enum Target {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// The wired ports, handed to the flow's builder.
pub struct Ports {
    service: Arc<str>,
    inputs: HashMap<String, BoundInput>,
    targets: HashMap<String, Vec<(Option<u32>, Target)>>,
    /// tag -> reply address, from the `(T, SocketAddr)` outputs' Demux keys
    replies: Arc<HashMap<u32, SocketAddr>>,
    /// every output connection's writer, a task on the flow's thread
    writers: Vec<Pin<Box<dyn Future<Output = ()>>>>,
    /// every output's connections, which the run loop flushes
    outs: Vec<Rc<OutConn>>,
    stats: Vec<Arc<PortStats>>,
    stop: Option<watch::Receiver<bool>>,
    tmp: Option<PathBuf>,
}

/// Counts a port reports at the end.
struct PortStats {
    name: String,
    ty: String,
    input: bool,
    bad: AtomicU64,
    dropped: AtomicU64,
}

fn tcp_host(v: &Value) -> Option<String> {
    match v {
        Value::String(h) => Some(h.clone()),
        Value::Array(a) => a.first().and_then(|h| h.as_str()).map(str::to_string),
        _ => None,
    }
}

fn tempdir(service: &str) -> PathBuf {
    let base = std::env::temp_dir();
    for n in 0..1000 {
        let p = base.join(format!("hydro-{}-{}", std::process::id(), n));
        if std::fs::create_dir(&p).is_ok() {
            return p;
        }
    }
    die(service, "cannot make a directory for the program's sockets")
}

/// Bind one ServerBindConfig; returns its ServerPort.
fn bind(
    service: &str,
    port: &str,
    cfg: &Value,
    tag: Option<u32>,
    tmp: &mut Option<PathBuf>,
    out: &mut Vec<(Listener, Option<u32>)>,
) -> Value {
    let bad = || -> ! { die(service, &format!("port '{}': cannot read the bind config {}", port, cfg)) };
    match cfg {
        Value::String(s) if s == "Null" => json!("Null"),
        Value::String(s) if s == "UnixSocket" => {
            let dir = tmp.get_or_insert_with(|| tempdir(service));
            let path = dir.join(format!("{}", out.len() + 1000 * tag.unwrap_or(0) as usize))
                .join("socket");
            let _ = std::fs::create_dir_all(path.parent().unwrap());
            let l = tokio::net::UnixListener::bind(&path).unwrap_or_else(|e| {
                die(service, &format!("port '{}': cannot bind '{}': {}", port, path.display(), e))
            });
            out.push((Listener::Unix(l), tag));
            json!({ "UnixSocket": path })
        }
        Value::Object(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().unwrap();
            match k.as_str() {
                "TcpPort" => {
                    let host = tcp_host(v).unwrap_or_else(|| bad());
                    let std = std::net::TcpListener::bind((host.as_str(), 0)).unwrap_or_else(|e| {
                        die(service, &format!("port '{}': cannot bind TCP on '{}': {}", port, host, e))
                    });
                    let addr = std.local_addr().unwrap();
                    std.set_nonblocking(true).unwrap();
                    let l = tokio::net::TcpListener::from_std(std).unwrap();
                    out.push((Listener::Tcp(l), tag));
                    json!({ "TcpPort": addr.to_string() })
                }
                "Merge" => {
                    let slots = v.as_array().unwrap_or_else(|| bad());
                    let bound: Vec<Value> =
                        slots.iter().map(|c| bind(service, port, c, tag, tmp, out)).collect();
                    json!({ "Merge": bound })
                }
                "Tagged" => {
                    let a = v.as_array().filter(|a| a.len() == 2).unwrap_or_else(|| bad());
                    let t = a[1].as_u64().unwrap_or_else(|| bad()) as u32;
                    let inner = bind(service, port, &a[0], Some(t), tmp, out);
                    json!({ "Tagged": [inner, t] })
                }
                _ => bad(),
            }
        }
        _ => bad(),
    }
}

fn target(service: &str, port: &str, v: &Value) -> Target {
    let bad = || -> ! { die(service, &format!("port '{}': cannot read the target {}", port, v)) };
    let m = v.as_object().filter(|m| m.len() == 1).unwrap_or_else(|| bad());
    let (k, a) = m.iter().next().unwrap();
    match k.as_str() {
        "TcpPort" => Target::Tcp(a.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| bad())),
        "UnixSocket" => Target::Unix(a.as_str().map(PathBuf::from).unwrap_or_else(|| bad())),
        _ => bad(),
    }
}

async fn handshake(service: &str, inputs: &[(&str, bool)], outputs: &[(&str, bool)]) -> Ports {
    let mut control = Control::open(service);
    let Some(line) = control.read_line() else {
        die(service, "the control channel closed before the InitConfig line");
    };
    let init: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| die(service, &format!("cannot read the InitConfig line: {}", e)));
    let (binds, meta) = match init.as_array().map(Vec::as_slice) {
        Some([b, m]) => (b.clone(), m.clone()),
        _ => die(service, "the InitConfig line is not [ports, meta]"),
    };
    let meta: Value = match meta.as_str() {
        Some(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        None => Value::Null,
    };
    let binds = binds.as_object().cloned().unwrap_or_default();
    let mut tmp = None;
    let mut ready = serde_json::Map::new();
    let mut bound = HashMap::new();
    for (name, cfg) in &binds {
        let mut ls = Vec::new();
        ready.insert(name.clone(), bind(service, name, cfg, None, &mut tmp, &mut ls));
        let expect = meta
            .get("senders")
            .and_then(|s| s.get(name))
            .and_then(Value::as_u64)
            .map(|n| n as usize)
            .or(if meta.is_null() { Some(ls.len()) } else { None });
        bound.insert(name.clone(), BoundInput { listeners: ls, expect });
    }
    for (name, _) in inputs {
        bound.entry(name.to_string()).or_insert(BoundInput { listeners: Vec::new(), expect: Some(0) });
    }
    control.write_line(service, &format!("ready: {}", Value::Object(ready)));

    let Some(line) = control.read_line() else {
        die(service, "the control channel closed before the start line");
    };
    let Some(rest) = line.strip_prefix("start: ") else {
        die(service, &format!("expected 'start: ', got '{}'", line));
    };
    let start: Value = serde_json::from_str(rest)
        .unwrap_or_else(|e| die(service, &format!("cannot read the start line: {}", e)));
    let mut targets = HashMap::new();
    let mut replies = HashMap::new();
    for (name, addr) in outputs {
        let v = start.get(*name).cloned().unwrap_or(json!("Null"));
        let mut ts = Vec::new();
        if let Some(d) = v.get("Demux").and_then(Value::as_object) {
            for (k, p) in d {
                let key: u32 = k.parse().unwrap_or_else(|_| {
                    die(service, &format!("port '{}': Demux key '{}' is not a number", name, k))
                });
                ts.push((Some(key), target(service, name, p)));
            }
        } else if v != json!("Null") {
            ts.push((None, target(service, name, &v)));
        }
        if *addr {
            for (k, t) in &ts {
                if let (Some(k), Target::Tcp(a)) = (k, t) {
                    replies.entry(*k).or_insert(*a);
                }
            }
        }
        targets.insert(name.to_string(), ts);
    }

    // hydro's stop: a line "stop", the end of the channel, or SIGTERM
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let ports = Ports {
        service: service.into(),
        inputs: bound,
        targets,
        replies: Arc::new(replies),
        writers: Vec::new(),
        outs: Vec::new(),
        stats: Vec::new(),
        stop: Some(stop_rx),
        tmp,
    };
    control.write_line(service, "ack start");
    let tx = stop_tx.clone();
    let svc = service.to_string();
    std::thread::spawn(move || {
        loop {
            match control.read_line() {
                None => break,
                Some(l) if l.starts_with("stop") => break,
                Some(l) => eprintln!("{}: warning: unexpected control line '{}'", svc, l),
            }
        }
        let _ = tx.send(true);
    });
    let tx = stop_tx;
    tokio::spawn(async move {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
            let _ = tx.send(true);
        }
    });
    ports
}

/// The most a reader takes from its socket at once.
const READ_CHUNK: usize = 256 * 1024;

/// How an input port's payloads become its messages (bytes and the reply
/// address), known to the compiler so that a batch's decoding is inlined.
pub trait Decode {
    type Item;
    fn decode(b: &[u8], addr: SocketAddr) -> bincode::Result<Self::Item>;
}

/// An input of `T`.
pub struct Plain<T>(PhantomData<fn() -> T>);

/// An input of `(T, SocketAddr)`: each message with its sender's reply
/// address.
pub struct WithAddr<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned + 'static> Decode for Plain<T> {
    type Item = T;
    #[inline]
    fn decode(b: &[u8], _: SocketAddr) -> bincode::Result<T> {
        codec::decode::<T>(b)
    }
}

impl<T: DeserializeOwned + 'static> Decode for WithAddr<T> {
    type Item = (T, SocketAddr);
    #[inline]
    fn decode(b: &[u8], addr: SocketAddr) -> bincode::Result<(T, SocketAddr)> {
        codec::decode::<T>(b).map(|t| (t, addr))
    }
}

/// Read buffers that batches are done with, for the port's readers to use
/// again: a batch takes its reader's buffer whole, and without these each
/// read would allocate one.
type Spare = Arc<Mutex<Vec<Vec<u8>>>>;

/// The most buffers an input keeps in Spare.
const SPARE_MAX: usize = 4;

/// One accepted connection of an input port, and what it has read of a
/// frame not yet whole.
struct Reader {
    conn: Conn,
    buf: Vec<u8>,
    addr: SocketAddr,
}

/// What a Reader's poll gave.
enum Read<D> {
    /// nothing more to read now; the waker is registered
    Pending,
    /// whole frames
    Data(Batch<D>),
    /// the end of the connection, or a frame too large: drop it
    Closed,
}

impl Reader {
    /// Read what the socket has (up to READ_CHUNK) and hand over every
    /// whole frame in it as a Batch, the buffer they are in with them.  A
    /// frame cut off by the end of the connection is not delivered.
    fn poll_frames<D>(&mut self, cx: &mut Context<'_>, port: &InPort) -> Read<D> {
        loop {
            if self.buf.capacity() - self.buf.len() < READ_CHUNK / 4 {
                self.buf.reserve(READ_CHUNK);
            }
            let mut rb = ReadBuf::uninit(self.buf.spare_capacity_mut());
            match self.conn.as_mut().poll_read(cx, &mut rb) {
                Poll::Pending => return Read::Pending,
                Poll::Ready(Err(_)) => return Read::Closed,
                Poll::Ready(Ok(())) => {}
            }
            let n = rb.filled().len();
            if n == 0 {
                return Read::Closed;
            }
            // SAFETY: poll_read initialised the n bytes it filled.
            unsafe { self.buf.set_len(self.buf.len() + n) };
            // the whole frames: [0, end)
            let mut end = 0;
            while self.buf.len() - end >= 4 {
                let n = u32::from_be_bytes(self.buf[end..end + 4].try_into().unwrap()) as usize;
                if n > FRAME_MAX {
                    eprintln!(
                        "{}: port '{}': a frame of {} bytes is larger than the 8 MiB limit; closing its connection",
                        port.service, port.stats.name, n
                    );
                    return Read::Closed;
                }
                if self.buf.len() - end - 4 < n {
                    break;
                }
                end += 4 + n;
            }
            if end == 0 {
                if self.buf.len() >= 4 {
                    // room for the whole of the frame begun
                    let n = u32::from_be_bytes(self.buf[..4].try_into().unwrap()) as usize;
                    self.buf.reserve(n + 4 - self.buf.len());
                }
                continue;
            }
            // the batch takes the buffer; what follows its frames starts
            // a spare one
            let mut next = port.spare.lock().unwrap().pop().unwrap_or_default();
            next.extend_from_slice(&self.buf[end..]);
            self.buf.truncate(end);
            let bytes = std::mem::replace(&mut self.buf, next);
            return Read::Data(Batch {
                bytes,
                at: 0,
                addr: self.addr,
                stats: port.stats.clone(),
                service: port.service.clone(),
                spare: port.spare.clone(),
                _d: PhantomData,
            });
        }
    }
}

/// Whole frames read from one connection, decoded one at a time as the
/// flow takes them: each message is made just before the flow uses it (a
/// message's allocation is freed before the next one's is made), not all
/// of the batch before the first is used.  A frame that does not decode is
/// counted, reported once, and skipped.
pub struct Batch<D> {
    bytes: Vec<u8>,
    at: usize,
    addr: SocketAddr,
    stats: Arc<PortStats>,
    service: Arc<str>,
    spare: Spare,
    _d: PhantomData<fn() -> D>,
}

impl<D: Decode> Iterator for Batch<D> {
    type Item = D::Item;
    #[inline]
    fn next(&mut self) -> Option<D::Item> {
        while self.at < self.bytes.len() {
            let start = self.at + 4;
            let n = u32::from_be_bytes(self.bytes[self.at..start].try_into().unwrap()) as usize;
            self.at = start + n;
            match D::decode(&self.bytes[start..start + n], self.addr) {
                Ok(item) => return Some(item),
                Err(e) => {
                    if self.stats.bad.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!(
                            "{}: port '{}': cannot decode a message of {} bytes as `{}`: {} (dropped; further ones are counted)",
                            self.service, self.stats.name, n, self.stats.ty, e
                        );
                    }
                }
            }
        }
        None
    }
}

impl<D> Drop for Batch<D> {
    fn drop(&mut self) {
        let mut spare = self.spare.lock().unwrap();
        if spare.len() < SPARE_MAX {
            let mut b = std::mem::take(&mut self.bytes);
            b.clear();
            spare.push(b);
        }
    }
}

/// The connections an input port's listeners accepted and its Input has
/// not taken yet, and how to wake the Input.
struct Accepted {
    readers: Vec<Reader>,
    waker: Option<Waker>,
    /// listeners still accepting: while there are, the stream goes on
    accepting: usize,
}

impl Accepted {
    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// An input port's messages, for `source_stream(..) -> flatten()`: in
/// batches, each the whole frames one read of a connection held.  The
/// flow's own poll reads the sockets, with no task between them and the
/// flow; it polls the stream (and makes a waker) once a batch, not once a
/// message.  Its connections take turns, one batch each.
pub struct Input<D> {
    accepted: Arc<Mutex<Accepted>>,
    readers: Vec<Reader>,
    /// the reader the next poll starts at
    next: usize,
    port: InPort,
    _d: PhantomData<fn() -> D>,
}

/// What an input's batches need of their port.
struct InPort {
    stats: Arc<PortStats>,
    service: Arc<str>,
    spare: Spare,
}

impl<D> Stream for Input<D> {
    type Item = Batch<D>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Batch<D>>> {
        let this = &mut *self;
        let accepting = {
            let mut a = this.accepted.lock().unwrap();
            this.readers.append(&mut a.readers);
            if !a.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                a.waker = Some(cx.waker().clone());
            }
            a.accepting
        };
        let mut tried = 0;
        while tried < this.readers.len() {
            let i = this.next % this.readers.len();
            match this.readers[i].poll_frames(cx, &this.port) {
                Read::Closed => {
                    this.readers.swap_remove(i);
                }
                Read::Pending => {
                    this.next = i + 1;
                    tried += 1;
                }
                Read::Data(batch) => {
                    this.next = i + 1;
                    return Poll::Ready(Some(batch));
                }
            }
        }
        if this.readers.is_empty() && accepting == 0 {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

impl Ports {
    fn stats(&mut self, name: &str, ty: &str, input: bool) -> Arc<PortStats> {
        let s = Arc::new(PortStats {
            name: name.to_string(),
            ty: ty.to_string(),
            input,
            bad: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });
        self.stats.push(s.clone());
        s
    }

    fn open_input<D>(&mut self, name: &str, ty: &str) -> Input<D> {
        let stats = self.stats(name, ty, true);
        let input = self.inputs.remove(name);
        let expect = input.as_ref().and_then(|i| i.expect);
        let listeners = match input {
            Some(i) if expect != Some(0) => i.listeners,
            _ => Vec::new(),
        };
        let accepted = Arc::new(Mutex::new(Accepted { readers: Vec::new(), waker: None, accepting: listeners.len() }));
        let remaining = Arc::new(Mutex::new(expect));
        let (done_tx, done_rx) = watch::channel(false);
        let done_tx = Arc::new(done_tx);
        for (listener, tag) in listeners {
            let accepted = accepted.clone();
            let (remaining, done_tx, mut done_rx) = (remaining.clone(), done_tx.clone(), done_rx.clone());
            let replies = self.replies.clone();
            tokio::spawn(async move {
                loop {
                    if *done_rx.borrow() {
                        break;
                    }
                    let accepted_conn = tokio::select! {
                        a = listener.accept() => a,
                        _ = done_rx.changed() => break,
                    };
                    let Ok((conn, peer)) = accepted_conn else { continue };
                    let addr = tag
                        .and_then(|t| replies.get(&t).copied())
                        .or(peer)
                        .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
                    {
                        let mut a = accepted.lock().unwrap();
                        a.readers.push(Reader { conn, buf: Vec::new(), addr });
                        a.wake();
                    }
                    let mut r = remaining.lock().unwrap();
                    if let Some(n) = r.as_mut() {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            let _ = done_tx.send(true);
                            break;
                        }
                    }
                }
                let mut a = accepted.lock().unwrap();
                a.accepting -= 1;
                a.wake();
            });
        }
        let port = InPort { stats, service: self.service.clone(), spare: Arc::new(Mutex::new(Vec::new())) };
        Input { accepted, readers: Vec::new(), next: 0, port, _d: PhantomData }
    }

    /// Input port `name` of type `T` (`ty` as written, for messages), as a
    /// Stream of its messages.
    pub fn input<T: DeserializeOwned + 'static>(&mut self, name: &str, ty: &str) -> Input<Plain<T>> {
        self.open_input(name, ty)
    }

    /// Input port `name` of type `(T, SocketAddr)`: each message with its
    /// sender's reply address.
    pub fn input_addr<T: DeserializeOwned + 'static>(&mut self, name: &str, ty: &str) -> Input<WithAddr<T>> {
        self.open_input(name, ty)
    }

    fn open_output(&mut self, name: &str) -> (Vec<(Option<SocketAddr>, Rc<OutConn>)>, Arc<PortStats>) {
        let stats = self.stats(name, "", false);
        let mut conns = Vec::new();
        for (_, t) in self.targets.remove(name).unwrap_or_default() {
            let out = Rc::new(OutConn::default());
            let addr = match &t {
                Target::Tcp(a) => Some(*a),
                Target::Unix(_) => None,
            };
            let service = self.service.clone();
            let port = name.to_string();
            self.writers.push(Box::pin(write_frames(service, port, t, out.clone())));
            self.outs.push(out.clone());
            conns.push((addr, out));
        }
        (conns, stats)
    }

    /// Output port `name` of type `T`, which sends every message to every
    /// receiver.
    pub fn output<T: Serialize + 'static>(&mut self, name: &str) -> Output<T> {
        let (conns, stats) = self.open_output(name);
        Output { conns: conns.into_iter().map(|(_, c)| c).collect(), stats, service: self.service.clone(), scratch: Vec::new(), _t: PhantomData }
    }

    /// Output port `name` of type `(T, SocketAddr)`, which sends each
    /// message to the receiver with that address.
    pub fn output_addr<T: Serialize + 'static>(&mut self, name: &str) -> AddrOutput<T> {
        let (conns, stats) = self.open_output(name);
        let mut by_addr = HashMap::new();
        for (a, c) in conns {
            if let Some(a) = a {
                by_addr.insert(a, c);
            }
        }
        AddrOutput { by_addr, stats, service: self.service.clone(), _t: PhantomData }
    }

    /// After the flow and its writers: report the counts, remove the
    /// sockets' directory.
    fn finish(&mut self) {
        for s in &self.stats {
            let bad = s.bad.load(Ordering::Relaxed);
            if bad > 0 {
                eprintln!("{}: port '{}': {} message(s) could not be decoded and were dropped", self.service, s.name, bad);
            }
            let dropped = s.dropped.load(Ordering::Relaxed);
            if dropped > 0 && !s.input {
                eprintln!("{}: port '{}': {} message(s) were dropped (no receiver has their address, or too large)", self.service, s.name, dropped);
            }
        }
        if let Some(t) = self.tmp.take() {
            let _ = std::fs::remove_dir_all(t);
        }
    }
}

/// An output's connection: a non-blocking socket, outside tokio's poller
/// while the socket takes what is written (a socket in an edge-triggered
/// poller wakes its program each time the receiver reads, for nothing),
/// registered with it only while the writer waits for room.
enum Sock {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

/// A descriptor for tokio's poller, owned by the Sock.
struct Fd(RawFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

impl Sock {
    fn try_write(&self, b: &[IoSlice<'_>]) -> std::io::Result<usize> {
        match self {
            Sock::Tcp(s) => (&*s).write_vectored(b),
            Sock::Unix(s) => (&*s).write_vectored(b),
        }
    }

    fn fd(&self) -> RawFd {
        match self {
            Sock::Tcp(s) => s.as_raw_fd(),
            Sock::Unix(s) => s.as_raw_fd(),
        }
    }
}

async fn connect(t: &Target) -> std::io::Result<Sock> {
    let mut last = None;
    for i in 0..10 {
        let r = match t {
            Target::Tcp(a) => match tokio::net::TcpStream::connect(a).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    s.into_std().map(Sock::Tcp)
                }
                Err(e) => Err(e),
            },
            Target::Unix(p) => match tokio::net::UnixStream::connect(p).await {
                Ok(s) => s.into_std().map(Sock::Unix),
                Err(e) => Err(e),
            },
        };
        match r {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(50 << i.min(4))).await;
    }
    Err(last.unwrap())
}

/// An output's frames for one receiver start being written once this many
/// bytes are waiting, without waiting for the flush.
const WRITE_AT: usize = 64 * 1024;

/// An output's frames wait in chunks of about this many bytes: appending
/// never moves what waits, and a chunk written whole is used again.
const CHUNK: usize = 64 * 1024;

/// A chunk's room: a frame of up to 32 KiB fits in the chunk it starts in
/// (and the chunk stays below glibc's threshold for a mapping of its own).
const CHUNK_ROOM: usize = 96 * 1024;

/// The most written chunks a connection keeps for use again.
const SPARE_CHUNKS: usize = 8;

/// The most chunks one write hands the socket.
const WRITE_CHUNKS: usize = 16;

/// What an output has for one receiver and not yet written: whole frames,
/// appended by the Output (no channel, no allocation of its own per
/// message).  They are written without blocking when the run loop flushes
/// (and when WRITE_AT bytes wait); what the socket does not take then, the
/// connection's writer task writes as the socket takes it.
#[derive(Default)]
pub struct OutConn {
    state: RefCell<OutBuf>,
    /// wakes the writer: frames the flush could not write, an error, the end
    ready: Notify,
}

#[derive(Default)]
struct OutBuf {
    /// the frames, in order
    chunks: VecDeque<Vec<u8>>,
    /// how much of the first chunk is written
    sent: usize,
    /// how many bytes wait
    len: usize,
    /// what a write left unwritten (the socket was full): the next try is
    /// when WRITE_AT more bytes have come, not at every frame
    left: usize,
    /// written chunks, emptied, for use again
    spare: Vec<Vec<u8>>,
    /// the connection, once made
    sock: Option<Rc<Sock>>,
    /// a write by the flush failed: the writer reports it
    error: Option<std::io::Error>,
    /// the Output is gone: write what is left, then end
    closed: bool,
    /// the connection failed: what comes is dropped
    dead: bool,
}

impl OutBuf {
    /// The chunk the next frame goes into.
    #[inline]
    fn tail(&mut self) -> &mut Vec<u8> {
        if self.chunks.back().map_or(true, |c| c.len() >= CHUNK) {
            self.new_chunk();
        }
        self.chunks.back_mut().unwrap()
    }

    #[cold]
    fn new_chunk(&mut self) {
        let c = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(CHUNK_ROOM));
        self.chunks.push_back(c);
    }

    /// Append one frame, as encode_frame.
    fn push_frame<F>(&mut self, service: &str, stats: &PortStats, encode: F) -> bool
    where
        F: FnOnce(&mut Vec<u8>) -> bincode::Result<()>,
    {
        let tail = self.tail();
        let had = tail.len();
        let ok = encode_frame(service, stats, tail, encode);
        self.len += tail.len() - had;
        ok
    }

    /// Take n written bytes off the front.
    fn consume(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let first = self.chunks.front().unwrap().len() - self.sent;
            if n < first {
                self.sent += n;
                return;
            }
            n -= first;
            self.sent = 0;
            let mut c = self.chunks.pop_front().unwrap();
            if self.spare.len() < SPARE_CHUNKS {
                c.clear();
                self.spare.push(c);
            }
        }
    }

    /// Write what the socket takes now.  Ok(true) when nothing is left;
    /// Ok(false) when it is not connected yet or full.
    fn write_now(&mut self) -> std::io::Result<bool> {
        let Some(sock) = self.sock.clone() else { return Ok(self.len == 0) };
        while self.len > 0 {
            let mut io = [IoSlice::new(&[]); WRITE_CHUNKS];
            let mut n = 0;
            for (k, c) in self.chunks.iter().take(WRITE_CHUNKS).enumerate() {
                io[k] = IoSlice::new(&c[if k == 0 { self.sent } else { 0 }..]);
                n += 1;
            }
            match sock.try_write(&io[..n]) {
                Ok(w) => self.consume(w),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.left = self.len;
        Ok(self.len == 0)
    }

    /// Drop everything: the connection failed.
    fn clear(&mut self) {
        self.chunks = VecDeque::new();
        self.spare = Vec::new();
        self.sent = 0;
        self.len = 0;
    }
}

impl OutConn {
    /// Write what the connection holds: everything, if the socket takes
    /// it; else the writer is woken to write the rest.
    fn flush(&self) {
        self.write(&mut self.state.borrow_mut());
    }

    /// Write what st (this connection's state, locked) holds, as flush.
    fn write(&self, st: &mut OutBuf) {
        if st.dead || st.error.is_some() {
            return;
        }
        match st.write_now() {
            Ok(true) => {}
            Ok(false) => self.ready.notify_one(),
            Err(e) => {
                st.error = Some(e);
                self.ready.notify_one();
            }
        }
    }

    /// Append one frame whose payload encode writes: the payload's length,
    /// then the payload; a payload that cannot be encoded or is larger than
    /// a frame may be is dropped, counted and reported once.
    fn push<F>(&self, service: &str, stats: &PortStats, encode: F) -> bool
    where
        F: FnOnce(&mut Vec<u8>) -> bincode::Result<()>,
    {
        let mut st = self.state.borrow_mut();
        if st.dead {
            return true;
        }
        let ok = st.push_frame(service, stats, encode);
        if st.len >= st.left + WRITE_AT {
            self.write(&mut st);
        }
        ok
    }

    /// Append frames already made.
    fn push_frames(&self, frames: &[u8]) {
        let mut st = self.state.borrow_mut();
        if st.dead {
            return;
        }
        st.tail().extend_from_slice(frames);
        st.len += frames.len();
        if st.len >= st.left + WRITE_AT {
            self.write(&mut st);
        }
    }

    fn close(&self) {
        self.state.borrow_mut().closed = true;
        self.ready.notify_one();
    }
}

/// What a connection's writer does next.
enum Step {
    Again,
    Wait,
    Writable(Rc<Sock>),
    Fail(std::io::Error),
    Done,
}

async fn write_frames(service: Arc<str>, port: String, t: Target, out: Rc<OutConn>) {
    let where_ = match &t {
        Target::Tcp(a) => a.to_string(),
        Target::Unix(p) => p.display().to_string(),
    };
    let fail = |what: String| {
        eprintln!("{}: port '{}': {}", service, port, what);
        let mut st = out.state.borrow_mut();
        st.dead = true;
        st.clear();
        st.sock = None;
    };
    let sock = match connect(&t).await {
        Ok(c) => Rc::new(c),
        Err(e) => return fail(format!("cannot connect to {}: {}", where_, e)),
    };
    out.state.borrow_mut().sock = Some(sock);
    loop {
        let step = {
            let mut st = out.state.borrow_mut();
            if let Some(e) = st.error.take() {
                Step::Fail(e)
            } else if st.len == 0 {
                if st.closed {
                    Step::Done
                } else {
                    Step::Wait
                }
            } else {
                match st.write_now() {
                    Ok(true) => Step::Again,
                    Ok(false) => Step::Writable(st.sock.clone().unwrap()),
                    Err(e) => Step::Fail(e),
                }
            }
        };
        match step {
            Step::Again => {}
            Step::Wait => out.ready.notified().await,
            Step::Writable(s) => {
                if let Err(e) = write_when_writable(&out, &s).await {
                    return fail(format!("sending to {}: {}", where_, e));
                }
            }
            Step::Fail(e) => return fail(format!("sending to {}: {}", where_, e)),
            Step::Done => break,
        }
    }
    // closing the socket ends the receiver's stream
    out.state.borrow_mut().sock = None;
}

/// With the socket in tokio's poller, write as it takes frames until
/// nothing is left.
async fn write_when_writable(out: &OutConn, sock: &Sock) -> std::io::Result<()> {
    // SAFETY: sock owns the descriptor and outlives fd, which only
    // registers it and never closes it.
    let fd = unsafe { AsyncFd::register_with_interest(Fd(sock.fd()), Interest::WRITABLE)? };
    loop {
        let mut ready = fd.writable().await?;
        let mut st = out.state.borrow_mut();
        if st.dead {
            return Ok(());
        }
        if st.write_now()? {
            return Ok(());
        }
        ready.clear_ready();
    }
}

/// Append one frame to buf, its payload written by encode; on failure (or
/// a payload larger than a frame may be) buf is left as it was, and the
/// message is counted and reported once.
fn encode_frame<F>(service: &str, stats: &PortStats, buf: &mut Vec<u8>, encode: F) -> bool
where
    F: FnOnce(&mut Vec<u8>) -> bincode::Result<()>,
{
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    let what = match encode(buf) {
        Ok(()) if buf.len() - start - 4 <= FRAME_MAX => {
            let n = (buf.len() - start - 4) as u32;
            buf[start..start + 4].copy_from_slice(&n.to_be_bytes());
            return true;
        }
        Ok(()) => format!("a message of {} bytes is larger than the 8 MiB limit", buf.len() - start - 4),
        Err(e) => format!("cannot encode a message: {}", e),
    };
    buf.truncate(start);
    if stats.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
        eprintln!("{}: port '{}': {}; dropped", service, stats.name, what);
    }
    false
}

/// An output port of plain `T`: every message to every receiver.
pub struct Output<T> {
    conns: Vec<Rc<OutConn>>,
    stats: Arc<PortStats>,
    service: Arc<str>,
    /// a frame, for more than one receiver
    scratch: Vec<u8>,
    _t: PhantomData<fn(T)>,
}

impl<T> Drop for Output<T> {
    fn drop(&mut self) {
        for c in &self.conns {
            c.close();
        }
    }
}

impl<T: Serialize + 'static> Output<T> {
    /// Send item to every receiver, for the flow's `for_each`: its frame
    /// goes into each connection's buffer, written once WRITE_AT bytes
    /// wait, and else when the run loop flushes.
    pub fn send(&mut self, item: T) {
        match self.conns.as_slice() {
            [] => {}
            [c] => {
                c.push(&self.service, &self.stats, |b| codec::encode(&item, b));
            }
            conns => {
                self.scratch.clear();
                if encode_frame(&self.service, &self.stats, &mut self.scratch, |b| codec::encode(&item, b)) {
                    for c in conns {
                        c.push_frames(&self.scratch);
                    }
                }
            }
        }
    }
}

/// An output port of `(T, SocketAddr)`: each message to the receiver with
/// that address.
pub struct AddrOutput<T> {
    by_addr: HashMap<SocketAddr, Rc<OutConn>>,
    stats: Arc<PortStats>,
    service: Arc<str>,
    _t: PhantomData<fn(T)>,
}

impl<T> Drop for AddrOutput<T> {
    fn drop(&mut self) {
        for c in self.by_addr.values() {
            c.close();
        }
    }
}

impl<T: Serialize + 'static> AddrOutput<T> {
    /// Send item to the receiver at addr, for the flow's `for_each`; an
    /// address no receiver has is dropped, counted and reported once.
    pub fn send(&mut self, (item, addr): (T, SocketAddr)) {
        match self.by_addr.get(&addr) {
            Some(c) => {
                c.push(&self.service, &self.stats, |b| codec::encode(&item, b));
            }
            None => {
                if self.stats.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!(
                        "{}: warning: port '{}': no receiver has the address {}; dropped (further ones are counted)",
                        self.service, self.stats.name, addr
                    );
                }
            }
        }
    }
}
