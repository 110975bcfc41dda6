// The prefetch worker yields to the replica's queries: from load samples
// taken between fetch steps, the controller decides the job's download rate.
//
// Why these signals: the node's CPU share alone cannot tell the readers'
// load from the download's own (the worker's threads, the kernel's receive
// and writeback work, a Hub on the same box all make the CPU busy with no
// query at all), so a CPU-only rule would throttle a lone download. The CPU
// time the client backends themselves used (readers_cpu) says whether there
// are readers; a monitoring poll uses almost none, a busy reader a good part
// of a CPU. The node's CPU share then says whether they are crowded: a
// replica with idle cores can serve its readers and download at full speed.
//
// The rule (AIMD-like, with hysteresis so it does not flap):
//   - crowded (readers, node CPU >= kNodeBusy): the first crowded sample
//     drops straight to the floor rate (the readers come first); while
//     yielding, each crowded sample halves the rate, never below the floor.
//   - readers with room (node CPU < kNodeRoom) for kHoldMs: probe upward,
//     x kProbeFactor per sample; at the cap (or twice the fastest rate seen
//     before yielding, with no cap) the worker stops yielding.
//   - no readers for kHoldMs: stop yielding, back to the cap (or no limit).
//   - in between: keep the rate.
// max_download_rate (cap) bounds every decision. Pure: time comes in the samples.
#pragma once
#include "common/core_only.hpp"

#include <cstdint>

namespace pgmlr::hf_fetch {

struct LoadSample {
	int64_t at_ms = 0;          // a monotonic clock
	int busy_backends = 0;      // client backends that ran a query during the interval
	double readers_cpu = -1;    // CPUs the client backends used over the interval; < 0: unknown
	double node_cpu = -1;       // share of the node's CPU time in use, 0..1; < 0: unknown
	int64_t bytes_received = 0;  // the job's counter (for the rate before yielding)
};

struct YieldSettings {
	bool enabled = true;
	int64_t floor_bps = 5 << 20;   // the rate while crowded
	int64_t cap_bps = 0;           // max_download_rate; 0: no limit
};

struct YieldDecision {
	int64_t rate_bps = 0;  // for the job: 0 is no limit
	bool yielding = false;
	bool readers = false;  // the last sample saw readers
};

class YieldController {
public:
	static constexpr double kReaderCpu = 0.2;   // CPUs of client backends that make them readers
	static constexpr double kNodeBusy = 0.85;   // node CPU share at which readers are crowded
	static constexpr double kNodeRoom = 0.6;    // below it, readers leave room to go faster
	static constexpr int64_t kHoldMs = 1000;    // how long a calmer state must last before speeding up
	static constexpr double kProbeFactor = 1.5;

	YieldDecision update(const YieldSettings &settings, const LoadSample &sample);
	const YieldDecision &decision() const { return decision_; }
	void reset() { *this = YieldController{}; }

private:
	YieldDecision decide(const YieldSettings &settings) const;
	void stop_yielding();

	bool yielding_ = false;
	double rate_ = 0;      // own limit while yielding
	double peak_bps_ = 0;  // the fastest interval seen while not yielding
	int64_t quiet_since_ = -1;  // no readers since
	int64_t room_since_ = -1;   // readers, with room, since
	LoadSample last_;
	bool have_last_ = false;
	YieldDecision decision_;
};

}  // namespace pgmlr::hf_fetch
