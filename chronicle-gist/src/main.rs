//! The `chronicle-gist` command; everything lives in the library.

fn main() -> std::process::ExitCode {
    chronicle_gist::cli::main()
}
