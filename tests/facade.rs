//! The public API as an embedder meets it: `Location`s in and out, a store of the caller's own,
//! and calls from inside an async runtime.

use std::path::Path;
use std::sync::Arc;

use framefan::{Code, Location, PlanOptions};

fn title_card() -> Location {
    Location::from(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/title-card"))
}

fn options() -> PlanOptions {
    let cache = std::env::var_os("FRAMEFAN_PACKAGE_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/package-cache"));
    let mut options = PlanOptions::default();
    options.config.package_cache = Some(cache);
    options
}

/// Straight from an async task (no `spawn_blocking`), on the current-thread runtime whose only
/// thread is the caller's: the primitive runs on a thread of its own instead of tokio's panic
/// ("Cannot start a runtime from within a runtime"), and gives the same plan as a plain call.
#[test]
fn a_primitive_called_from_an_async_task_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Location::from(dir.path().join("a")), Location::from(dir.path().join("b")));
    let plain = framefan::plan(&title_card(), &a, &options()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let in_async = rt.block_on(async { framefan::plan(&title_card(), &b, &options()) }).unwrap();
    assert_eq!(in_async.plan_hash, plain.plan_hash);
    let report = rt.block_on(async { framefan::verify(&"no/such/file.mp4".parse().unwrap(), Some(&b)) });
    assert_eq!(report.unwrap_err().kind(), Code::Io);
}

/// A plan written into a caller's store lands under the URL's key with its manifest last, and a
/// location of a scheme no provider serves still works with an injected store.
#[test]
fn an_injected_store_receives_the_plan_and_its_manifest() {
    use object_store::{path::Path as Key, ObjectStoreExt};
    let store = Arc::new(object_store::memory::InMemory::new());
    let plan_dir = Location::with_store("mem://bucket/job/plan/", store.clone()).unwrap();
    let planned = framefan::plan(&title_card(), &plan_dir, &options()).unwrap();
    assert_eq!(planned.plan_dir, Path::new("mem://bucket/job/plan"));
    assert!(planned.storage.upload_bytes > 0);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let manifest = rt.block_on(store.get(&Key::from("job/plan.manifest.json"))).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&rt.block_on(manifest.bytes()).unwrap()).unwrap();
    let plan_json = rt.block_on(store.head(&Key::from("job/plan/plan.json"))).unwrap();
    assert!(plan_json.size > 0);
    assert!(manifest.to_string().contains(&planned.plan_hash), "the manifest names the planHash");
}
