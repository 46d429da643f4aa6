//! Prints `echo ("WORD",)` for every (String,) that arrives on the port
//! "broadcast" (from any number of senders, merged).
use hydroflow::util::deploy::{ConnectedDirect, ConnectedSource};
use hydroflow::util::deserialize_from_bytes;

#[hydroflow::main]
async fn main() {
    let ports = hydroflow::util::deploy::init::<()>().await;
    let broadcast = ports
        .port("broadcast")
        .connect::<ConnectedDirect>()
        .await
        .into_source();

    let flow = hydroflow::hydroflow_syntax! {
        source_stream(broadcast)
            -> map(|x| deserialize_from_bytes::<(String,)>(x.unwrap()).unwrap())
            -> for_each(|t| println!("echo {:?}", t));
    };
    hydroflow::util::deploy::launch_flow(flow).await;
}
