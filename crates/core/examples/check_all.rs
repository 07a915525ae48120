//! Compiles every model under `examples/` and prints its plain-language description.
fn main() {
    for f in std::env::args().skip(1) {
        let src = std::fs::read_to_string(&f).unwrap();
        match leadscore_core::Model::from_toml(&src, &f) {
            Ok(m) => println!("{}", m.describe()),
            Err(e) => println!("ERROR\n{e}"),
        }
    }
}
