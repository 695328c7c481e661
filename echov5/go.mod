module github.com/ssevent/ssevent/echov5

go 1.25.0

require (
	github.com/labstack/echo/v5 v5.4.4
	github.com/ssevent/ssevent v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/google/uuid v1.6.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace github.com/ssevent/ssevent => ../
