package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// requestOverHTTP asks the focus node at addr for room's conference, as a
// deployment's web front does (POST /conference-request/v1), and says
// whether it is ready.
func requestOverHTTP(ctx context.Context, addr, room string) (bool, error) {
	body, err := json.Marshal(map[string]string{"room": room})
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/conference-request/v1", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return false, fmt.Errorf("reading answer of %s: %w", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%s answered %s: %s", addr, resp.Status, bytes.TrimSpace(data))
	}
	var answer struct {
		Ready bool `json:"ready"`
	}
	if err := json.Unmarshal(data, &answer); err != nil {
		return false, fmt.Errorf("answer of %s: %w", addr, err)
	}
	return answer.Ready, nil
}
