/**
 * How every SDK client in a function talks to AWS: one retry and short timeouts, so a slow
 * dependency cannot eat a provider's whole response budget (the handler's own deadline is the
 * backstop; the Secrets Manager client narrows which failures it retries). The endpoint always comes
 * from the SDK's own configuration (AWS_ENDPOINT_URL_<SERVICE> in local runs and tests), never from
 * code here.
 */
export function sdkClientConfig(requestTimeoutMs: number) {
  return {
    maxAttempts: 2,
    // Without throwOnRequestTimeout, @smithy/node-http-handler 4.x only logs a warning when requestTimeout passes.
    requestHandler: { connectionTimeout: 1_000, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
  } as const;
}
