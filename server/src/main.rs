//! The `palisade-server` binary: see [`palisade_server::cli`].

fn main() -> std::process::ExitCode {
    palisade_server::cli::main()
}
