import Testing
@testable import CTICore

@Suite struct MonotonicClockTests {
  @Test func aSleepLastsItsTimeUnlessAskedToStop() {
    let started = MonotonicClock.now()
    #expect(MonotonicClock.sleep(0.12))
    let slept = MonotonicClock.now() - started
    #expect(slept >= 0.12 && slept < 2)

    // Asked every 50 ms: a stop ends a long sleep within a step.
    var asked = 0
    let interrupted = MonotonicClock.now()
    #expect(!MonotonicClock.sleep(30) { asked += 1; return asked > 2 })
    #expect(MonotonicClock.now() - interrupted < 2)
  }

  @Test func timeNeverGoesBack() {
    var last = MonotonicClock.now()
    for _ in 0..<1000 {
      let now = MonotonicClock.now()
      #expect(now >= last)
      last = now
    }
  }
}
