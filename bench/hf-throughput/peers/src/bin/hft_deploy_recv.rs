//! `hft_deploy_recv N`: the receiver of receiver.hf, written against hydroflow
//! 0.10's deploy integration: decodes each frame of the port "inp" as a
//! Vec<u8>, counts, and prints the time from the first to the N-th.
use std::time::Instant;

use hydroflow::util::deploy::{ConnectedDirect, ConnectedSource};
use hydroflow::util::deserialize_from_bytes;

#[hydroflow::main]
async fn main() {
    let n: u64 = std::env::args().nth(1).unwrap().parse().unwrap();
    let ports = hydroflow::util::deploy::init::<()>().await;
    let inp = ports.port("inp").connect::<ConnectedDirect>().await.into_source();
    let flow = hydroflow::hydroflow_syntax! {
        source_stream(inp)
            -> map(|b| deserialize_from_bytes::<Vec<u8>>(b.unwrap()).unwrap())
            -> fold::<'static>(|| (0u64, 0usize, None::<Instant>), |s: &mut (u64, usize, Option<Instant>), m: Vec<u8>| {
                s.2.get_or_insert_with(Instant::now);
                s.0 += 1;
                s.1 += m.len();
            })
            -> filter(|s| s.0 == n)
            -> for_each(|s: (u64, usize, Option<Instant>)| println!("received {} messages ({} bytes) in {:.6} s", s.0, s.1, s.2.unwrap().elapsed().as_secs_f64()));
    };
    hydroflow::util::deploy::launch_flow(flow).await;
}
