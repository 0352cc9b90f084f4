/**
 * How every SDK client in a function talks to AWS: short timeouts, so a slow dependency cannot eat a
 * provider's whole response budget (the handler's own deadlines are the backstop), and one retry
 * unless the caller has its own retry policy (the secrets cache retries once per refresh interval,
 * so an SDK retry there would only double the calls a throttled Secrets Manager receives). The
 * endpoint always comes from the SDK's own configuration (AWS_ENDPOINT_URL_<SERVICE> in local runs
 * and tests), never from code here.
 */
export function sdkClientConfig(requestTimeoutMs: number, maxAttempts = 2) {
  return {
    maxAttempts,
    // Without throwOnRequestTimeout, @smithy/node-http-handler 4.x only logs a warning when requestTimeout passes.
    requestHandler: { connectionTimeout: 1_000, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
  } as const;
}
