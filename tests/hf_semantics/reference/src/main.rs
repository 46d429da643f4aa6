//! `hf_semantics_reference NAME...` runs each named program of
//! tests/hf_semantics (`all`: every one, each after a line `== NAME`) as
//! hydroflow 0.10 runs it: the flow built, then run_available(), which runs
//! tick after tick until no work is left.
include!(concat!(env!("OUT_DIR"), "/programs.rs"));

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.iter().any(|a| a == "all");
    for (name, build) in PROGRAMS {
        if all {
            println!("== {}", name);
        } else if !args.iter().any(|a| a == name) {
            continue;
        }
        let mut flow = build();
        flow.run_available();
    }
}
