package redact_test

import (
	"fmt"

	"github.com/regapi/regapi/internal/redact"
)

func ExampleText() {
	fmt.Println(redact.Text("get https://robot:pw@r.example/v2/x/manifests/v1?access_token=abc: 500"))
	// Output: get https://r.example/v2/x/manifests/v1?REDACTED 500
}
