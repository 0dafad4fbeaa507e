#!/usr/bin/env bash
# A whole render on Cloud Run Jobs with gcloud flags (the YAML files here say the same).
# Cloud Run retries a failed task whatever its exit code (--max-retries); framefan's exit 3 fails
# the same way on every retry, so a bad input costs at most max-retries extra starts.
# Usage: deploy/cloud-run/run.sh REGION IMAGE JOB_URL PROJECT_URL
set -euo pipefail
region=$1 image=$2 job=$3 project=$4
gcloud run jobs deploy framefan-plan --region "$region" --image "$image" --tasks 1 --max-retries 3 \
  --args="plan,$project,$job/plan,--json"
gcloud run jobs execute framefan-plan --region "$region" --wait
count=$(gcloud logging read "resource.labels.job_name=framefan-plan" --limit 1 --format='value(jsonPayload.chunkCount)')
gcloud run jobs deploy framefan-chunks --region "$region" --image "$image" --tasks "$count" --parallelism 4 \
  --max-retries 3 --task-timeout 3600 --args="render-chunk,$job/plan,$job/chunks/,--json"
gcloud run jobs execute framefan-chunks --region "$region" --wait
gcloud run jobs deploy framefan-assemble --region "$region" --image "$image" --tasks 1 --max-retries 3 \
  --args="assemble,$job/plan,$job/output.mp4,--chunks-dir,$job/chunks/,--plan-audio,--json"
gcloud run jobs execute framefan-assemble --region "$region" --wait
