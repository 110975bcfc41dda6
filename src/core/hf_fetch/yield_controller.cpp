// The download rate while the worker yields to queries (see yield_controller.hpp).
#include "common/core_only.hpp"
#include "hf_fetch/yield_controller.hpp"

#include <algorithm>
#include <cmath>

namespace pgmlr::hf_fetch {

void YieldController::stop_yielding() {
	yielding_ = false;
	rate_ = 0;
	quiet_since_ = -1;
	room_since_ = -1;
}

YieldDecision YieldController::decide(const YieldSettings &s) const {
	YieldDecision d;
	d.yielding = yielding_;
	d.rate_bps = s.cap_bps > 0 ? s.cap_bps : 0;
	if (yielding_) {
		auto own = static_cast<int64_t>(std::llround(rate_));
		d.rate_bps = s.cap_bps > 0 ? std::min(own, s.cap_bps) : own;
	}
	return d;
}

YieldDecision YieldController::update(const YieldSettings &s, const LoadSample &x) {
	bool readers = x.readers_cpu >= 0 ? x.readers_cpu >= kReaderCpu : x.busy_backends > 0;
	if (have_last_ && x.at_ms > last_.at_ms && x.bytes_received >= last_.bytes_received && !yielding_) {
		double bps = double(x.bytes_received - last_.bytes_received) * 1000.0 / double(x.at_ms - last_.at_ms);
		peak_bps_ = std::max(peak_bps_, bps);
	}
	last_ = x;
	have_last_ = true;

	if (!s.enabled) {
		stop_yielding();
		decision_ = decide(s);
		decision_.readers = readers;
		return decision_;
	}

	double floor = double(std::max<int64_t>(s.floor_bps, 1));
	if (s.cap_bps > 0) floor = std::min(floor, double(s.cap_bps));
	bool crowded = readers && (x.node_cpu < 0 || x.node_cpu >= kNodeBusy);
	bool room = readers && x.node_cpu >= 0 && x.node_cpu < kNodeRoom;

	if (crowded) {
		quiet_since_ = room_since_ = -1;
		rate_ = yielding_ ? std::max(floor, rate_ / 2) : floor;
		yielding_ = true;
	} else if (yielding_ && !readers) {
		room_since_ = -1;
		if (quiet_since_ < 0) quiet_since_ = x.at_ms;
		if (x.at_ms - quiet_since_ >= kHoldMs) stop_yielding();
	} else if (yielding_ && room) {
		quiet_since_ = -1;
		if (room_since_ < 0) room_since_ = x.at_ms;
		if (x.at_ms - room_since_ >= kHoldMs) {
			rate_ = std::max(rate_, floor) * kProbeFactor;
			// With no cap, twice the fastest rate seen unhindered is as good as none.
			double ceiling = s.cap_bps > 0 ? double(s.cap_bps) : 2 * std::max(peak_bps_, floor);
			if (rate_ >= ceiling) stop_yielding();
		}
	} else {
		quiet_since_ = room_since_ = -1;
	}
	decision_ = decide(s);
	decision_.readers = readers;
	return decision_;
}

}  // namespace pgmlr::hf_fetch
