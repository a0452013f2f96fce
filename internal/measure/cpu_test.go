package measure

import "testing"

func TestEnvInt(t *testing.T) {
	for _, c := range []struct {
		set     string
		want    int
		wantErr bool
	}{
		{"", 7, false},
		{"12", 12, false},
		{"0", 0, false},
		{"-1", 0, true},
		{"5s", 0, true},
	} {
		t.Setenv("PIXEL_TEST_SETTING", c.set)
		got, err := EnvInt("PIXEL_TEST_SETTING", 7)
		if (err != nil) != c.wantErr || (!c.wantErr && got != c.want) {
			t.Errorf("PIXEL_TEST_SETTING=%q: %d, %v; want %d (error %v)", c.set, got, err, c.want, c.wantErr)
		}
	}
}

func TestCPUCounters(t *testing.T) {
	if busy, all := MachineCPU(); all == 0 || busy > all {
		t.Errorf("MachineCPU = %d busy of %d: want a positive total at least the busy part (Linux)", busy, all)
	}
	if ProcessCPU() <= 0 {
		t.Error("ProcessCPU = 0 for a process that has run")
	}
}
