import Testing
@testable import CTICore

@Suite struct BackoffTests {
  @Test func backoff_grows_exponentially_with_jitter_up_to_the_cap() {
    var backoff = Backoff(initialDelay: 1, maxDelay: 10)
    let delays = (0..<6).map { _ in backoff.nextDelay() }
    let ceilings: [Double] = [1, 2, 4, 8, 10, 10]
    for (delay, ceiling) in zip(delays, ceilings) { #expect(delay >= ceiling / 2 && delay <= ceiling) }
    backoff.reset()
    #expect(backoff.nextDelay() <= 1)
  }
}
