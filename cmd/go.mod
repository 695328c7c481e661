module github.com/ssevent/ssevent/cmd

go 1.26.0

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/labstack/echo/v4 v4.16.0
	github.com/maxence-charriere/go-app/v10 v10.1.11
	github.com/ssevent/ssevent v0.0.0-00010101000000-000000000000
	github.com/ssevent/ssevent/internal/e2e v0.0.0-00010101000000-000000000000
	github.com/ssevent/ssevent/redisbroker v0.0.0-00010101000000-000000000000
	github.com/ssevent/ssevent/wasmclient/goapp v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.54.0 // indirect
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.40.0 // indirect
)

replace (
	github.com/ssevent/ssevent => ../
	github.com/ssevent/ssevent/echov5 => ../echov5
	github.com/ssevent/ssevent/internal/e2e => ../internal/e2e
	github.com/ssevent/ssevent/redisbroker => ../redisbroker
	github.com/ssevent/ssevent/wasmclient/goapp => ../wasmclient/goapp
)
