//! `hft_deploy_send N SIZE BURST`: the sender of sender.hf, written against
//! hydroflow 0.10's deploy integration: N messages (a Vec<u8> of SIZE
//! bytes, bincode as serialize_to_bytes makes it), BURST a tick, on the
//! ConnectedDirect port "out".
use hydroflow::util::deploy::{ConnectedDirect, ConnectedSink};
use hydroflow::util::serialize_to_bytes;

#[hydroflow::main]
async fn main() {
    let a: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let (n, size, burst) = (a[0], a[1] as usize, a[2]);
    let ports = hydroflow::util::deploy::init::<()>().await;
    let out = ports.port("out").connect::<ConnectedDirect>().await.into_sink();
    let flow = hydroflow::hydroflow_syntax! {
        ticks = union() -> tee();
        source_iter([0u64]) -> ticks;
        ticks -> filter(|t: &u64| (t + 1) * burst < n) -> map(|t| t + 1) -> defer_tick() -> ticks;
        ticks -> flat_map(|t: u64| (t * burst..((t + 1) * burst).min(n)).map(move |i| vec![i as u8; size]))
            -> map(serialize_to_bytes)
            -> dest_sink(out);
    };
    hydroflow::util::deploy::launch_flow(flow).await;
}
