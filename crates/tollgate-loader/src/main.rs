//! The loader template (skeleton).

fn main() {
    eprintln!("tollgate-loader: not built yet");
    std::process::exit(2);
}
