//! Embeds the dashboard (`dashboards/`) into the binary, so `kvaudit serve` is one
//! self-contained file: every file under `dashboards/` (except hidden ones and `tests/`,
//! `node_modules/` folders) becomes an `include_bytes!` entry of `DASHBOARD_FILES` in
//! `$OUT_DIR/dashboard_files.rs`, keyed by its path relative to `dashboards/`.

use std::path::Path;

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if name != "tests" && name != "node_modules" {
                walk(root, &path, out);
            }
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>();
            out.push(rel.join("/"));
        }
    }
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("dashboards");
    // A directory here makes cargo rescan everything under it for changes.
    println!("cargo:rerun-if-changed=dashboards");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    let mut code = String::from(
        "/// The dashboard's files: (path under dashboards/, bytes).\npub static DASHBOARD_FILES: &[(&str, &[u8])] = &[\n",
    );
    // Paths are spelled from `CARGO_MANIFEST_DIR` when the crate compiles, not written out
    // here: two checkouts sharing one target directory share this generated file, and an
    // absolute path would embed (or fail to find) the other checkout's dashboard.
    for rel in files {
        code.push_str(&format!(
            "    ({rel:?}, include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/dashboards/\", {rel:?}))),\n"
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("dashboard_files.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
