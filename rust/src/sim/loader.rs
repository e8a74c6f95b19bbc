//! Finds and parses the `.snmprec` recordings a fleet is built from.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::notes::{Notes, NotesError};
use super::snmprec::{Recording, SnmprecError};

/// One loaded recording: its name (the file stem), its variables, the lines skipped, and its
/// notes (`<name>.meta` beside it, if there is one: see [`super::notes`]).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub name: String,
    pub path: PathBuf,
    pub recording: Recording,
    pub skipped: Vec<SnmprecError>,
    pub notes: Option<Notes>,
}

/// Why recordings could not be loaded; each names the path it is about.
#[derive(Debug)]
pub enum LoadError {
    /// The path does not exist or cannot be read.
    Io(PathBuf, io::Error),
    /// A directory without any `*.snmprec` file (or an empty list of files).
    NoRecordings(PathBuf),
    /// A file without any readable variable.
    Empty(PathBuf),
    /// A recording's notes file (`<name>.meta`) with a bad line.
    Notes(PathBuf, NotesError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(path, e) => write!(f, "recordings: cannot read {}: {e}", path.display()),
            Self::NoRecordings(path) => {
                write!(f, "recordings: no *.snmprec files in {}", path.display())
            }
            Self::Empty(path) => write!(f, "recordings: {} holds no variables", path.display()),
            Self::Notes(path, e) => write!(f, "recordings: {}: {e}", path.display()),
        }
    }
}

impl std::error::Error for LoadError {}

/// Loads recordings from `paths`: each path is a `.snmprec` file, or a directory whose
/// `*.snmprec` files are taken in name order. Bad lines are skipped (and reported in
/// [`Loaded::skipped`]), as snmpsim serves a recording up to its first bad line.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Loaded>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|e| LoadError::Io(path.clone(), e))?;
        if meta.is_dir() {
            let found = snmprec_files(path)?;
            if found.is_empty() {
                return Err(LoadError::NoRecordings(path.clone()));
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err(LoadError::NoRecordings(PathBuf::new()));
    }
    files.iter().map(|p| load_file(p)).collect()
}

fn snmprec_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io(dir.to_path_buf(), e))?;
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| LoadError::Io(dir.to_path_buf(), e))?.path();
        if path.extension().is_some_and(|e| e == "snmprec") && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn load_file(path: &Path) -> Result<Loaded, LoadError> {
    let data = std::fs::read(path).map_err(|e| LoadError::Io(path.to_path_buf(), e))?;
    let (recording, skipped) = Recording::parse_lenient(&data);
    if recording.is_empty() {
        return Err(LoadError::Empty(path.to_path_buf()));
    }
    let name = path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let meta = path.with_extension("meta");
    let notes = match std::fs::read_to_string(&meta) {
        Ok(text) => Some(Notes::parse(&text).map_err(|e| LoadError::Notes(meta, e))?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(LoadError::Io(meta, e)),
    };
    Ok(Loaded { name, path: path.to_path_buf(), recording, skipped, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("printwatch-loader-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn loads_directories_in_name_order_and_files() {
        let dir = scratch("order");
        std::fs::write(dir.join("b.snmprec"), "1.3.6.1.2.1.1.1.0|4|b\n").unwrap();
        std::fs::write(dir.join("a.snmprec"), "1.3.6.1.2.1.1.1.0|4|a\n1.3.6|65|6git\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "not a recording").unwrap();
        let loaded = load(std::slice::from_ref(&dir)).unwrap();
        let names: Vec<&str> = loaded.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(loaded[0].skipped.len(), 1);
        let one = load(&[dir.join("b.snmprec")]).unwrap();
        assert_eq!(one[0].recording.len(), 1);
        assert!(one[0].notes.is_none());
        // Notes beside a recording are read with it; a bad line fails the load, naming it.
        std::fs::write(dir.join("b.meta"), "versions|1\n").unwrap();
        let noted = load(&[dir.join("b.snmprec")]).unwrap();
        assert!(noted[0].notes.as_ref().is_some_and(|n| !n.versions.v2c));
        std::fs::write(dir.join("b.meta"), "versions|1\nshare|copy|9\n").unwrap();
        let err = load(std::slice::from_ref(&dir)).unwrap_err().to_string();
        assert!(err.contains("b.meta: line 2: share copy must be in 0..1"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_path() {
        let dir = scratch("errors");
        let err = load(std::slice::from_ref(&dir)).unwrap_err();
        assert!(matches!(err, LoadError::NoRecordings(_)), "{err}");
        assert!(err.to_string().contains("no *.snmprec files in"), "{err}");
        let missing = dir.join("missing");
        assert!(load(std::slice::from_ref(&missing)).unwrap_err().to_string().contains("missing"));
        std::fs::write(dir.join("e.snmprec"), "garbage\n").unwrap();
        assert!(matches!(load(&[dir.join("e.snmprec")]).unwrap_err(), LoadError::Empty(_)));
        assert!(matches!(load(&[]).unwrap_err(), LoadError::NoRecordings(_)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
