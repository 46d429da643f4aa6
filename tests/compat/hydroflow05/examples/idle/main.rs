//! No ports and nothing to do: hydroflow 0.5.0's handshake, then a flow
//! that waits for the `stop` line (bench/hd-peer starts many).
#[hydroflow::main]
async fn main() {
    let _ports = hydroflow::util::cli::init().await;
    let flow = hydroflow::hydroflow_syntax! {
        source_iter(std::iter::empty::<()>()) -> null();
    };
    hydroflow::util::cli::launch_flow(flow).await;
}
