// Which clients the job's daemon accepts. Docker 29.0 to 29.2 refuse clients older than API 1.44 (Docker 25), and
// 29.3 and later those older than 1.40: a runner's or a job image's docker CLI from Debian 12 or Ubuntu 22.04
// (docker.io 20.10, API 1.41), an old docker-compose or a pinned DOCKER_API_VERSION would fail with "client version
// 1.41 is too old". The job's daemon is private to the job, so it accepts every API version the daemon still
// implements: DOCKER_MIN_API_VERSION in the dind container's environment, which dockerd reads since 25.0 (older
// daemons ignore it, and accept 1.12 and later anyway). A "min-api-version" in input daemon-config (Docker 29 and
// later know that key) wins over it, as dockerd lets daemon.json win over the variable.

/** The oldest API version Docker 25 to 29 can be told to serve (their MinAPIVersion). */
export const MIN_API_VERSION = '1.24';

/** The dind container's environment for the API floor. */
export const apiVersionEnvironment = (): string[] => [`DOCKER_MIN_API_VERSION=${MIN_API_VERSION}`];
