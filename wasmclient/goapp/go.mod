module github.com/ssevent/ssevent/wasmclient/goapp

go 1.25.0

require (
	github.com/maxence-charriere/go-app/v10 v10.1.11
	github.com/ssevent/ssevent v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/google/uuid v1.6.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)

replace github.com/ssevent/ssevent => ../../
