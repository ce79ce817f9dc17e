//! Adds an rpath to the libtorch lib folder so `pneumoflow` runs without LD_LIBRARY_PATH.
fn main() {
    // torch-sys exports its lib dir to direct dependents' build scripts; LIBTORCH is our fallback.
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB")
        .ok()
        .or_else(|| std::env::var("LIBTORCH").ok().map(|d| format!("{d}/lib")));
    if let Some(lib) = lib {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
}
