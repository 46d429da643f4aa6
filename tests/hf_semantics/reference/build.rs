//! Writes $OUT_DIR/programs.rs: for each ../NAME.hf, a function NAME that
//! builds the program's flow with its `use` lines and its module body,
//! unchanged, inside hydroflow_syntax!.  The programs have no ports and no
//! params, so the body is the whole program.
use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let n = p.file_name()?.to_str()?.strip_suffix(".hf")?.to_string();
            Some(n)
        })
        .collect();
    names.sort();
    let mut out = String::new();
    for n in &names {
        let path = dir.join(format!("{}.hf", n));
        println!("cargo:rerun-if-changed={}", path.display());
        let src = std::fs::read_to_string(&path).unwrap();
        let module = src.find("module main").unwrap_or_else(|| panic!("{}: no module main", n));
        let open = module + src[module..].find('{').unwrap();
        let close = src.rfind('}').unwrap();
        let uses: String = src[..module]
            .lines()
            .filter(|l| l.trim_start().starts_with("use "))
            .map(|l| format!("    {}\n", l.trim()))
            .collect();
        writeln!(
            out,
            "fn {n}() -> hydroflow::scheduled::graph::Hydroflow<'static> {{\n{uses}    hydroflow::hydroflow_syntax! {{{}}}\n}}\n",
            &src[open + 1..close]
        )
        .unwrap();
    }
    writeln!(out, "const PROGRAMS: &[(&str, fn() -> hydroflow::scheduled::graph::Hydroflow<'static>)] = &[").unwrap();
    for n in &names {
        writeln!(out, "    ({:?}, {}),", n, n).unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("programs.rs");
    std::fs::write(dest, out).unwrap();
}
