module qpslab/industry/go

go 1.19
