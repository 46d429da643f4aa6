//! Prints `echo "TEXT"` for every message that arrives on the port "echo",
//! read as UTF-8 text.
use hydroflow::util::deploy::{ConnectedDirect, ConnectedSource};

#[hydroflow::main]
async fn main() {
    let ports = hydroflow::util::deploy::init::<()>().await;
    let echo = ports
        .port("echo")
        .connect::<ConnectedDirect>()
        .await
        .into_source();

    let flow = hydroflow::hydroflow_syntax! {
        source_stream(echo)
            -> map(|x| String::from_utf8(x.unwrap().to_vec()).unwrap())
            -> for_each(|x| println!("echo {:?}", x));
    };
    hydroflow::util::deploy::launch_flow(flow).await;
}
