//! Forwards every frame from the port "input" to the port "output", using
//! Hydro Deploy's program side: `init()` reads the InitConfig line, binds,
//! prints `ready:`, reads `start:`, prints `ack start`; `launch_flow` runs
//! until a `stop` line.
use hydroflow::util::deploy::{ConnectedDirect, ConnectedSink, ConnectedSource};

#[hydroflow::main]
async fn main() {
    let ports = hydroflow::util::deploy::init::<()>().await;
    let input = ports
        .port("input")
        .connect::<ConnectedDirect>()
        .await
        .into_source();
    let output = ports
        .port("output")
        .connect::<ConnectedDirect>()
        .await
        .into_sink();
    let flow = hydroflow::hydroflow_syntax! {
        source_stream(input) -> map(|frame| frame.unwrap().freeze()) -> dest_sink(output);
    };
    hydroflow::util::deploy::launch_flow(flow).await;
}
