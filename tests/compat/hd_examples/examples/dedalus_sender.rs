//! Sends ("Hello I",) and ("world I",) to every peer on the port
//! "broadcast" (a demux keyed by peer) every 100 ms, I being its own
//! number; its argument is the JSON `[[PEER, ...], I]`.
use std::time::Duration;

use hydroflow::util::deploy::{ConnectedDemux, ConnectedDirect, ConnectedSink};
use hydroflow::util::serialize_to_bytes;

#[hydroflow::main]
async fn main() {
    let ports = hydroflow::util::deploy::init::<()>().await;
    let broadcast = ports
        .port("broadcast")
        .connect::<ConnectedDemux<ConnectedDirect>>()
        .await
        .into_sink();
    let arg = std::env::args().nth(1).expect("an argument: [[PEER, ...], I]");
    let (peers, me): (Vec<u32>, u32) = hydroflow::serde_json::from_str(&arg).unwrap();
    let words = [format!("Hello {me}"), format!("world {me}")];

    let flow = hydroflow::hydroflow_syntax! {
        source_interval(Duration::from_millis(100))
            -> flat_map(|_| peers.clone().into_iter().flat_map(|p| words.clone().map(move |w| (p, w))))
            -> map(|(p, w): (u32, String)| (p, serialize_to_bytes((w,))))
            -> dest_sink(broadcast);
    };
    hydroflow::util::deploy::launch_flow(flow).await;
}
