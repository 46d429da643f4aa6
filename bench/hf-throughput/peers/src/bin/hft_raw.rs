//! `hft_raw tcp|unix N SIZE`: the transport's limit.  N frames (a 4-byte
//! big-endian length, then 8 + SIZE bytes, the size of a bincode Vec<u8> of
//! SIZE) over one loopback TCP connection or one Unix socket, written
//! through a BufWriter by one thread and read through a BufReader by
//! another; prints the time from the first frame read to the N-th.
use std::io::{BufReader, BufWriter, Read, Write};
use std::time::Instant;

fn receive(mut r: impl Read, n: u64) {
    let mut r = BufReader::with_capacity(256 * 1024, &mut r);
    let mut head = [0u8; 4];
    let mut buf = Vec::new();
    let (mut count, mut bytes, mut first) = (0u64, 0usize, None);
    while count < n {
        r.read_exact(&mut head).unwrap();
        buf.resize(u32::from_be_bytes(head) as usize, 0);
        r.read_exact(&mut buf).unwrap();
        first.get_or_insert_with(Instant::now);
        count += 1;
        bytes += buf.len() - 8;
    }
    println!("received {} messages ({} bytes) in {:.6} s", count, bytes, first.unwrap().elapsed().as_secs_f64());
}

fn send(w: impl Write, n: u64, size: usize) {
    let mut w = BufWriter::with_capacity(256 * 1024, w);
    for i in 0..n {
        let payload = vec![i as u8; size];
        w.write_all(&((8 + size) as u32).to_be_bytes()).unwrap();
        w.write_all(&(size as u64).to_le_bytes()).unwrap();
        w.write_all(&payload).unwrap();
    }
    w.flush().unwrap();
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let (n, size): (u64, usize) = (a[1].parse().unwrap(), a[2].parse().unwrap());
    match a[0].as_str() {
        "tcp" => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            let rx = std::thread::spawn(move || receive(l.accept().unwrap().0, n));
            let s = std::net::TcpStream::connect(addr).unwrap();
            s.set_nodelay(true).unwrap();
            send(s, n, size);
            rx.join().unwrap();
        }
        "unix" => {
            let dir = std::env::temp_dir().join(format!("hf-throughput-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("socket");
            let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
            let rx = std::thread::spawn(move || receive(l.accept().unwrap().0, n));
            send(std::os::unix::net::UnixStream::connect(&path).unwrap(), n, size);
            rx.join().unwrap();
            let _ = std::fs::remove_dir_all(dir);
        }
        m => panic!("unknown transport {}", m),
    }
}
