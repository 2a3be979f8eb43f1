"""AWS storage: the DynamoDB job store and the reading of botocore's errors."""
