module cgoprof/fuzz/seed

go 1.19
