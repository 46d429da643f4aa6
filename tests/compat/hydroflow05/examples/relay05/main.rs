//! Forwards every frame from the port "input" to the port "output" with
//! hydroflow 0.5.0's program side: `init()` reads the bare map of binds,
//! binds, prints `ready:`, reads `start:` (and prints no `ack start`);
//! `launch_flow` runs until a line on stdin.
use hydroflow::util::cli::{ConnectedDirect, ConnectedSink, ConnectedSource};

#[hydroflow::main]
async fn main() {
    let mut ports = hydroflow::util::cli::init().await;
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
    hydroflow::util::cli::launch_flow(flow).await;
}
