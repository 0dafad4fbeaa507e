//! The deploy/ recipes parse as their tools' YAML/JSON and carry the worker contract: the
//! framefan command line, where the chunk index comes from, a retry policy that retries only
//! exit 75, and the parallelism knobs.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(rel)
}

fn yaml(rel: &str) -> Value {
    let text = std::fs::read_to_string(deploy(rel)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(deploy(rel)).unwrap()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Every subcommand line names a real `framefan` subcommand with its positional arguments.
fn assert_command(args: &[String], sub: &str) {
    assert_eq!(args[0], sub, "{args:?}");
    match sub {
        "render-chunk" => {
            assert!(args[2].ends_with('/'), "one command line for every index needs an OUTDIR/: {args:?}")
        }
        "assemble" => assert!(args.windows(2).any(|w| w[0] == "--chunks-dir" && w[1].ends_with('/')), "{args:?}"),
        _ => {}
    }
    assert!(args.iter().any(|a| a == "--json"), "results as one JSON line: {args:?}");
}

fn k8s_container(job: &Value) -> &Value {
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never", "podFailurePolicy needs restartPolicy Never");
    c
}

fn assert_fails_job_on_3(job: &Value) {
    let rules = job["spec"]["podFailurePolicy"]["rules"].as_sequence().unwrap();
    let fail = rules.iter().find(|r| r["action"] == "FailJob").expect("a FailJob rule");
    assert_eq!(fail["onExitCodes"]["operator"], "In");
    let codes: Vec<i64> =
        fail["onExitCodes"]["values"].as_sequence().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    assert!(codes.contains(&3) && !codes.contains(&75), "{codes:?}");
    assert_eq!(fail["onExitCodes"]["containerName"], k8s_container(job)["name"]);
    for r in rules {
        assert!(["FailJob", "FailIndex", "Ignore", "Count"].contains(&r["action"].as_str().unwrap()), "{r:?}");
    }
}

#[test]
fn kubernetes_jobs_carry_the_contract() {
    for (file, sub) in
        [("plan-job.yaml", "plan"), ("chunks-job.yaml", "render-chunk"), ("assemble-job.yaml", "assemble")]
    {
        let job = yaml(&format!("kubernetes/{file}"));
        assert_eq!(job["apiVersion"], "batch/v1");
        assert_eq!(job["kind"], "Job");
        assert_command(&strings(&k8s_container(&job)["args"]), sub);
        assert_fails_job_on_3(&job);
    }
    let chunks = yaml("kubernetes/chunks-job.yaml");
    let spec = &chunks["spec"];
    assert_eq!(spec["completionMode"], "Indexed", "JOB_COMPLETION_INDEX is set only for Indexed Jobs");
    assert!(spec["completions"].as_i64().unwrap() >= 1);
    assert!(spec["parallelism"].as_i64().unwrap() >= 1);
    assert!(spec["backoffLimitPerIndex"].as_i64().unwrap() >= 1, "exit 75 is retried per index");
    assert!(spec.get("backoffLimit").is_none(), "backoffLimitPerIndex replaces backoffLimit");
    let args = strings(&k8s_container(&chunks)["args"]);
    assert!(!args.iter().any(|a| a == "--index"), "the index comes from JOB_COMPLETION_INDEX");
    let secret = yaml("kubernetes/storage-secret.example.yaml");
    assert_eq!(secret["kind"], "Secret");
}

#[test]
fn the_argo_template_is_one_dag_retrying_only_75() {
    let wf = yaml("argo/framefan-render.yaml");
    assert_eq!(wf["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(wf["kind"], "WorkflowTemplate");
    let templates = wf["spec"]["templates"].as_sequence().unwrap();
    let by_name = |n: &str| templates.iter().find(|t| t["name"] == n).unwrap_or_else(|| panic!("no template {n}"));
    let entry = by_name(wf["spec"]["entrypoint"].as_str().unwrap());
    let tasks = entry["dag"]["tasks"].as_sequence().unwrap();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["plan", "chunk", "assemble"]);
    assert_eq!(tasks[1]["depends"], "plan");
    assert_eq!(tasks[2]["depends"], "chunk");
    assert!(tasks[1]["withSequence"]["count"].as_str().unwrap().contains("chunkCount"));
    assert!(entry["parallelism"].as_i64().unwrap() >= 1);
    for (name, sub) in [("plan", "plan"), ("chunk", "render-chunk"), ("assemble", "assemble")] {
        let t = by_name(name);
        assert_command(&strings(&t["container"]["args"]), sub);
        assert_eq!(t["retryStrategy"]["expression"], "asInt(lastRetry.exitCode) == 75");
    }
    let chunk_args = strings(&by_name("chunk")["container"]["args"]);
    assert!(chunk_args.windows(2).any(|w| w == ["--index", "{{inputs.parameters.index}}"]));
}

#[test]
fn aws_batch_retries_only_exit_75_and_submits_an_array() {
    let def = json("aws-batch/job-definition.json");
    assert_eq!(def["type"], "container");
    let command: Vec<String> =
        def["containerProperties"]["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().into()).collect();
    assert_eq!(command[0], "render-chunk");
    assert!(def["parameters"]["chunks"].as_str().unwrap().ends_with('/'));
    let retry = &def["retryStrategy"];
    assert!((1..=10).contains(&retry["attempts"].as_i64().unwrap()));
    let rules = retry["evaluateOnExit"].as_array().unwrap();
    assert_eq!(rules[0], serde_json::json!({"onExitCode": "75", "action": "RETRY"}));
    let last = rules.last().unwrap();
    assert_eq!((last["onExitCode"].as_str(), last["action"].as_str()), (Some("*"), Some("EXIT")));
    assert!(rules.iter().all(|r| r["onExitCode"].as_str().is_none_or(|c| c != "3") || r["action"] == "EXIT"));
    let array = json("aws-batch/submit-chunks.json");
    assert!(array["arrayProperties"]["size"].as_i64().unwrap() >= 2, "Batch arrays have 2..10000 children");
    assert_eq!(array["jobDefinition"], def["jobDefinitionName"]);
    assert_eq!(json("aws-batch/submit-plan.json")["containerOverrides"]["command"][0], "plan");
    let assemble = json("aws-batch/submit-assemble.json");
    assert_eq!(assemble["containerOverrides"]["command"][0], "assemble");
    assert!(!assemble["dependsOn"].as_array().unwrap().is_empty());
}

#[test]
fn cloud_run_jobs_set_tasks_parallelism_and_retries() {
    for (file, sub) in
        [("plan-job.yaml", "plan"), ("chunks-job.yaml", "render-chunk"), ("assemble-job.yaml", "assemble")]
    {
        let job = yaml(&format!("cloud-run/{file}"));
        assert_eq!(job["apiVersion"], "run.googleapis.com/v1");
        assert_eq!(job["kind"], "Job");
        let exec = &job["spec"]["template"]["spec"];
        assert!(exec["taskCount"].as_i64().unwrap() >= 1 && exec["parallelism"].as_i64().unwrap() >= 1);
        let task = &exec["template"]["spec"];
        assert!(task["maxRetries"].as_i64().unwrap() >= 1);
        assert_command(&strings(&task["containers"][0]["args"]), sub);
    }
    let script = std::fs::read_to_string(deploy("cloud-run/run.sh")).unwrap();
    for flag in ["--tasks", "--parallelism", "--max-retries", "--chunks-dir"] {
        assert!(script.contains(flag), "run.sh lacks {flag}");
    }
}

#[test]
fn slurm_scripts_requeue_on_75_and_chain_with_afterok() {
    for name in ["framefan-plan.sbatch", "framefan-chunk.sbatch", "framefan-assemble.sbatch"] {
        let text = std::fs::read_to_string(deploy(&format!("slurm/{name}"))).unwrap();
        assert!(text.contains("#SBATCH --requeue"), "{name}");
        assert!(text.contains("\"$rc\" -eq 75") && text.contains("scontrol requeue"), "{name} requeues on 75");
        assert!(text.contains("exit \"$rc\""), "{name} keeps framefan's exit code");
    }
    let chunk = std::fs::read_to_string(deploy("slurm/framefan-chunk.sbatch")).unwrap();
    assert!(chunk.contains("render-chunk \"$JOB/plan\" \"$JOB/chunks/\""), "index from SLURM_ARRAY_TASK_ID");
    assert!(!chunk.contains("--index"));
    let submit = std::fs::read_to_string(deploy("slurm/submit.sh")).unwrap();
    assert!(submit.contains("--array=\"0-$((count - 1))\""));
    assert!(submit.contains("--dependency=\"afterok:$chunks_id\""));
}
