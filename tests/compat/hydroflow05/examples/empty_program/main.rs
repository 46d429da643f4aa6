// hydroflow 0.5.0's hydro_cli_examples/examples/empty_program/main.rs, unchanged.
#[hydroflow::main]
async fn main() {
    let _ = hydroflow::util::cli::init().await;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
