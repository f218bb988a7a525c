//! Assembles the upgrade scripts PostgreSQL runs for `ALTER EXTENSION pg_chronicle UPDATE`.
//!
//! Each step's source is `sql/upgrades/<from>--<to>.sql`: what the step changes by hand
//! (new columns, data moved, objects dropped), and `\ir ../<file>.sql` lines that stand for
//! a whole file of `sql/` — definitions written once, in the file a fresh install runs.
//! The assembled script goes to `sql/pg_chronicle--<from>--<to>.sql` (ignored by git),
//! where `cargo pgrx install` and `cargo pgrx package` pick up upgrade scripts.
//!
//! Each release has a shared library of its own, `pg_chronicle-<version>.so` (there is no
//! `module_pathname` in the control file, so pgrx names the library by version), so a
//! database not yet updated keeps calling the library of its release. Two consequences:
//! - `MODULE_PATHNAME` in a step's source means this build's library: the control file
//!   no longer defines it for PostgreSQL to substitute.
//! - A step to this version ends with `sql/upgrades/relink_library.sql`, which points
//!   every C function the extension had before at this version's library.
//!
//! tests/integration/upgrade.sh checks that every chain of steps ends exactly at a fresh
//! install.

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap();
    // As pgrx writes it in the install script: found through dynamic_library_path ($libdir).
    let library = format!("pg_chronicle-{version}");
    let sources = root.join("sql/upgrades");
    println!("cargo:rerun-if-changed={}", sources.display());

    let relink = read(&sources.join("relink_library.sql")).replace("@LIBRARY@", &library);
    for entry in fs::read_dir(&sources).expect("sql/upgrades is readable") {
        let path = entry.expect("sql/upgrades is readable").path();
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let Some(step) = name.strip_suffix(".sql").filter(|s| s.contains("--")) else {
            continue;
        };
        let (_, to) = step.split_once("--").unwrap();
        let mut script = format!(
            "-- Assembled by build.rs from sql/upgrades/{name}; edit that file, not this one.\n"
        );
        script.push_str(&assemble(&path).replace("MODULE_PATHNAME", &library));
        if to == version {
            script.push_str(&relink);
        }
        let output = root.join(format!("sql/pg_chronicle--{step}.sql"));
        // Written only when it changes, so that an unchanged build leaves the file alone.
        if fs::read_to_string(&output).ok().as_deref() != Some(script.as_str()) {
            fs::write(&output, script)
                .unwrap_or_else(|e| panic!("writing {}: {e}", output.display()));
        }
    }
}

/// The step's text with each `\ir <file>` line replaced by that file (relative to the
/// step's directory), once; an included file includes nothing.
fn assemble(path: &Path) -> String {
    let mut out = String::new();
    for line in read(path).lines() {
        match line.strip_prefix("\\ir ") {
            Some(included) => {
                let included = path.parent().unwrap().join(included.trim());
                println!("cargo:rerun-if-changed={}", included.display());
                out.push_str(&format!("-- {}\n", line));
                out.push_str(&read(&included));
                out.push('\n');
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
