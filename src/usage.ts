/** The text `adsync --help` prints. */
export const USAGE = `adsync: copy every ad campaign of client accounts into PostgreSQL

Usage:
  deno task sync [flags]            sync the accounts (same as: main.ts sync)
  deno run -A main.ts status [--json]   show recent runs, their progress and queue state
  deno run -A main.ts worker        take account-sync jobs from the queue until SIGTERM
  deno run -A main.ts enqueue [--account ID]... [--json]   queue every (or some) account once
  deno run -A main.ts help          this text

Sync flags (each overrides its environment variable):
  --resume                 continue the latest unfinished run from its checkpoint
  --json                   print the run summary as one JSON object, the last line on stdout
  --account ID             sync only this account of the accounts file (repeatable)
  --allow-mass-delete      SYNC_ALLOW_MASS_DELETE     [false] allow marking over half deleted
  --accounts-file PATH     SYNC_ACCOUNTS_FILE         [none: the one account below] JSON accounts
  --account-concurrency N  SYNC_ACCOUNT_CONCURRENCY   [200] accounts in progress at once
  --api-url URL            AD_PLATFORM_API_URL        [http://localhost:3001]
  --email EMAIL            AD_PLATFORM_EMAIL          (required)
  --password-file PATH     AD_PLATFORM_PASSWORD_FILE  (or AD_PLATFORM_PASSWORD; required)
  --client-id ID           AD_PLATFORM_CLIENT_ID      [default]
  --rate-limit N/DUR|auto  AD_PLATFORM_RATE_LIMIT     [auto: advertised, else 10/60s; N/DUR: a ceiling]
  --request-timeout DUR    AD_PLATFORM_REQUEST_TIMEOUT [15s] at most 10m
  --list-timeout DUR       AD_PLATFORM_LIST_TIMEOUT   [5s, at most the request timeout] list requests
  --page-size N            AD_PLATFORM_PAGE_SIZE      [100] a smaller platform cap is learnt
  --database-url URL       DATABASE_URL               [embedded PostgreSQL in the state dir]
  --database-timeout DUR   SYNC_DATABASE_TIMEOUT      [30s] deadline of one database operation
  --database-outage DUR    SYNC_DATABASE_OUTAGE       [1m] ride out an unreachable database
  --state-dir DIR          SYNC_STATE_DIR             [.adsync]
  --log-level LEVEL        LOG_LEVEL                  [info] debug|info|warning|error
  --log-format FORMAT      LOG_FORMAT                 [pretty on a terminal, else json]
  --concurrency N          SYNC_CONCURRENCY           [the rate limit's N, at most 20]
  --max-pages N            SYNC_MAX_PAGES             [1000]
  --max-attempts N         SYNC_MAX_ATTEMPTS          [5] per sync, login; list requests get twice
  --retry-backoff DUR      SYNC_RETRY_BACKOFF         [500ms] first backoff ceiling, doubling
  --retry-backoff-max DUR  SYNC_RETRY_BACKOFF_MAX     [10s] largest backoff ceiling
  --max-duration DUR       SYNC_MAX_DURATION          [none] stop, resumable, exit 75; <= 576h
  --metrics-file PATH      SYNC_METRICS_FILE          [none] Prometheus textfile
  --resume-max-age DUR     SYNC_RESUME_MAX_AGE        [24h]
  --shutdown-grace DUR     SYNC_SHUTDOWN_GRACE        [5s]
  --http-port N            SYNC_HTTP_PORT             [none] serve /metrics, /healthz, /readyz
                                                      (sync and worker; 0 picks a free port)
  --http-host HOST         SYNC_HTTP_HOST             [127.0.0.1] the endpoint's address

Worker flags (worker and enqueue need DATABASE_URL, a PostgreSQL server):
  --worker-accounts N      SYNC_WORKER_ACCOUNTS       [10] accounts one worker runs at once
  --worker-heartbeat DUR   SYNC_WORKER_HEARTBEAT      [30s] >= 10s; a silent job is taken over
  --worker-id ID           SYNC_WORKER_ID             [hostname-pid] shown by status
  --schedule CRON          SYNC_SCHEDULE              [unset: keep] cron (UTC) queueing all
                                                      accounts each tick; off removes it

Durations need a unit: ms, s, m or h (15s, 2m); each has a maximum (see README).
Exit codes: 0 all synced, 2 some failed or rejected, 1 fatal, 130 SIGINT, 143 SIGTERM,
75 --max-duration (130/143/75 resume with --resume).`;
