//! Peak resident memory of `framefan assemble` (the release binary) for a ~1-minute and a
//! 10-minute 1080p output with a soundtrack, measured with getrusage(RUSAGE_CHILDREN) through
//! Python's `resource` module. Run: `cargo build --release && cargo bench --bench rss`.

#[path = "fixtures.rs"]
mod fixtures;

use std::process::Command;

fn peak_rss_kib(args: &[String]) -> u64 {
    let script = "import resource,subprocess,sys\n\
                  r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL)\n\
                  assert r.returncode==0, r\n\
                  print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn main() {
    let bin = std::path::PathBuf::from("target/release/framefan");
    assert!(bin.exists(), "build the release binary first: cargo build --release");
    for count in [8usize, 75] {
        let chunks = fixtures::ensure_chunks(count);
        let seconds = fixtures::seconds(count);
        let plan = fixtures::ensure_plan(count, true);
        let audio = fixtures::ensure_audio(seconds);
        let out = fixtures::scratch("rss.mp4");
        let mut args = vec![bin.display().to_string(), "assemble".into(), plan.display().to_string()];
        args.push(out.display().to_string());
        args.push("--audio".into());
        args.push(audio.display().to_string());
        args.push("--chunks".into());
        args.extend(chunks.iter().map(|c| c.display().to_string()));
        let kib = peak_rss_kib(&args);
        println!("assemble {seconds:>4} s of 1080p30 + audio: peak RSS {:.1} MiB", kib as f64 / 1024.0);
    }
}
