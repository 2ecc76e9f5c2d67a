fn main() {
    println!("lrate {}", env!("CARGO_PKG_VERSION"));
}
