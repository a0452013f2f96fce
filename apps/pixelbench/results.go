package main

import "time"

// The results of a run, as printed and as written with -json. Field names
// and JSON keys are the tool's output format: scripts read them.

// LatencySummary is one latency distribution, in milliseconds.
type LatencySummary struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Result is everything a run measured.
type Result struct {
	URLs          []string      `json:"urls"`
	Baseline      bool          `json:"baseline"`
	Config        ConfigSummary `json:"config"`
	StartedAt     time.Time     `json:"started_at"`
	RampSeconds   float64       `json:"ramp_seconds"`
	SteadySeconds float64       `json:"steady_seconds"`
	DrainSeconds  float64       `json:"drain_seconds"`
	Interrupted   bool          `json:"interrupted"`
	Connections   ConnStats     `json:"connections"`
	Writes        WriteStats    `json:"writes"`
	Deliveries    DeliveryStats `json:"deliveries"`
	// ErrorsByCode counts server error messages by code (or by message
	// when a v1 server sends no code).
	ErrorsByCode map[string]uint64 `json:"errors_by_code"`
	Latency      struct {
		// EndToEnd is send → receive on the bench's own monotonic clock,
		// for every delivery to a sampled client.
		EndToEnd LatencySummary `json:"end_to_end"`
		// FanOut is the server's timestamp → receive on the wall clock:
		// meaningful only when the server shares this machine's clock.
		FanOut LatencySummary `json:"fan_out"`
	} `json:"latency"`
	Warnings []string `json:"warnings"`
}

// ConfigSummary echoes the run's settings into the results.
type ConfigSummary struct {
	Clients         int     `json:"clients"`
	Rate            float64 `json:"rate"`
	DurationSeconds float64 `json:"duration_seconds"`
	Ramp            float64 `json:"ramp"`
	Churn           float64 `json:"churn"`
	Sample          string  `json:"sample"`
	SampledClients  int     `json:"sampled_clients"`
	V2              bool    `json:"v2"`
}

// ConnStats is about connecting.
type ConnStats struct {
	Attempts    uint64            `json:"attempts"`
	Succeeded   uint64            `json:"succeeded"`
	Failed      uint64            `json:"failed"`
	SuccessRate float64           `json:"success_rate"`
	PeakOpen    int               `json:"peak_open"`
	Churned     uint64            `json:"churned"`
	Dropped     uint64            `json:"dropped"` // closed by the server or the network, not by us
	ConnectTime LatencySummary    `json:"connect_time"`
	Failures    map[string]uint64 `json:"failures"`
	DropCodes   map[string]uint64 `json:"drop_codes"`
}

// WriteStats is about the pixels the bench sent.
type WriteStats struct {
	Sent          uint64  `json:"sent"`
	SentPerSecond float64 `json:"sent_per_second"`
	SendErrors    uint64  `json:"send_errors"`
	// Skipped writes were due while the client was behind schedule (the
	// bench did not burst to catch up) or not connected.
	Skipped uint64 `json:"skipped"`
	// Acked writes came back to their sender as pixel_updated with the
	// write's id; Refused came back as an error with the id; Unanswered
	// neither, by the end of the drain or by a drop of the sender's
	// connection (writes cut off by churn are not counted).
	Acked      uint64 `json:"acked"`
	Refused    uint64 `json:"refused"`
	Unanswered uint64 `json:"unanswered"`
}

// DeliveryStats is about pixel_updated messages received.
type DeliveryStats struct {
	Total uint64 `json:"total"`
	// PerSecond counts deliveries during the steady phase only.
	PerSecond float64 `json:"per_second"`
	// Missing is the number of seqs a client never received while
	// connected: holes in its seq stream, plus, for clients connected at the
	// end, the seqs between its last one and the highest any client saw.
	Missing      uint64  `json:"missing"`
	OutOfOrder   uint64  `json:"out_of_order"` // at or below a seq already received
	WithoutSeq   uint64  `json:"without_seq"`  // from a server without the seq extension
	Completeness float64 `json:"completeness"` // received / (received + missing), seq-carrying only
	ClientsGaps  int     `json:"clients_with_gaps"`
}
